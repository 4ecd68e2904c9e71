"""No traceback ever reaches a user: every bad invocation of every subcommand is one line on
stderr and a documented exit status; the project's data folder is found from a sub-folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.cli import main
from warehouse import paths

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"extract", "ingest", "synth", "summary", "sql", "export", "dictionary", "tables", "describe"}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty raw folder and no warehouse, outside any project."""
    (tmp_path / "raw").mkdir()
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv("GONGKAI_RAW", str(tmp_path / "raw"))
    monkeypatch.setenv("GONGKAI_DB", str(tmp_path / "none.ducklake"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# (argv, exit status); paths are relative to the sandbox.
BAD = [
    ([], 2),
    (["nope"], 2),
    (["--bogus"], 2),
    (["extract"], 2),
    (["extract", "--bogus", "a_file.txt"], 2),
    (["extract", "missing.pdf"], 1),
    (["extract", "a_dir"], 1),
    (["extract", "a_file.txt/below.txt"], 1),  # a file where a folder is expected
    (["ingest", "20x1"], 2),
    (["ingest", "2024-2020"], 2),
    (["ingest", "1850"], 2),
    (["ingest", "--bogus"], 2),
    (["ingest", "2099"], 1),  # a year outside the partitions: said, nothing run
    (["ingest"], 1),  # nothing to ingest
    (["fetch", "20x1"], 2),
    (["fetch", "--bogus"], 2),
    (["fetch", "--interval", "soon"], 2),
    (["fetch", "--timeout", "-1"], 2),
    (["fetch"], 1),  # nothing to fetch: no sources.csv
    (["fetch", "--sources", "a_dir"], 1),
    (["fetch", "--sources", "a_file.txt"], 1),  # no agency,year,url header
    (["synth", "--count", "x"], 2),
    (["synth", "--agencies", "2", "--count", "3"], 2),
    (["synth", "out", "--count", "1", "--formats", "bogus=1"], 2),
    (["synth", "a_file.txt", "--agencies", "1", "--years", "2022"], 1),  # a file where a folder is expected
    (["summary"], 1),
    (["summary", "extra"], 2),
    (["sql"], 2),
    (["sql", ""], 2),
    (["sql", " ; -- nothing\n"], 2),
    (["sql", "SELECT 1"], 1),  # no warehouse
    (["sql", "--csv", "--json", "SELECT 1"], 2),
    (["export"], 2),
    (["export", "reports"], 1),  # no warehouse
    (["export", "reports", "--format", "json"], 2),
    (["export", "reports", "--year", "last"], 2),
    (["dictionary", "--write", "--check"], 2),
    (["tables", "extra"], 2),
    (["describe"], 2),
    (["describe", "nope"], 2),
]


@pytest.mark.parametrize(("argv", "code"), BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_invocation_is_one_line_and_an_exit_status(
    argv: list[str], code: int, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if argv[:1] == ["extract"] and code == 1:  # the report says it: "FILE: rejected — cannot read file: …"
        assert re.match(r"\S+: rejected — (cannot read file|empty file)", out), out
        assert err == ""
    else:
        assert err.strip().splitlines()[-1].startswith("gongkai"), err  # argparse: "gongkai sql: error: …"


# With a warehouse: bad SQL, writes, unwritable outputs. The warehouse is test_cli_output's.
BAD_WITH_WAREHOUSE = [
    (["sql", "SELEC 1"], 1, "gongkai: sql error: Parser Error: syntax error at or near"),
    (
        ["sql", "SELECT * FROM nope"],
        1,
        "gongkai: sql error: Catalog Error: Table with name nope does not exist",
    ),
    (["sql", "DELETE FROM reports"], 1, "read-only"),
    (["sql", "--csv", "SELECT 1; SELECT 2"], 2, "2 statements: --csv and --json print one result"),
    (["export", "nope"], 2, "gongkai: error: no table or view 'nope'"),
    (["export", "categories", "--year", "2022"], 2, "gongkai: error: categories has no year column"),
    (["export", "reports", "--out", "{tmp}"], 1, "is a directory"),
    (["export", "reports", "--out", "{tmp}/f.txt/x.csv"], 1, "gongkai: error: "),
]


@pytest.mark.parametrize(
    ("argv", "code", "said"), BAD_WITH_WAREHOUSE, ids=[" ".join(a) for a, _, _ in BAD_WITH_WAREHOUSE]
)
def test_bad_invocation_on_a_warehouse(
    argv: list[str],
    code: int,
    said: str,
    warehouse: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv("GONGKAI_DB", str(warehouse))
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert said in err, err
    assert len(err.strip().splitlines()) == 1, err


def _raise(_args: object) -> int:
    raise RuntimeError("the disk\nfell off")


def test_an_unexpected_error_is_one_line_and_debug_shows_the_trace(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_summary", _raise)
    assert main(["summary"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "gongkai: error: RuntimeError: the disk fell off "
        "(unexpected; GONGKAI_DEBUG=1 gongkai … prints the trace)\n"
    )
    monkeypatch.setenv("GONGKAI_DEBUG", "1")
    assert main(["summary"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "RuntimeError: the disk" in err
    assert err.splitlines()[-1].startswith("gongkai: error: RuntimeError: the disk fell off")


def _commands() -> list[str]:
    """The subcommands as the top-level --help lists them."""
    text = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listing = text.split("COMMAND\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    (\w+)", listing, flags=re.MULTILINE)


def test_every_command_help_has_an_example_and_its_environment(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands()
    assert set(commands) >= COMMANDS
    for command in [*commands, None]:
        argv = [command, "--help"] if command else ["--help"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert re.search(r"^example:\n  gongkai ", out, flags=re.MULTILINE), command
        assert "\nenvironment:\n  " in out and "GONGKAI_DEBUG" in out, command
        assert "``" not in out, command
    assert main(["sql", "--help"]) == 0
    assert "NULL is printed as ·" in capsys.readouterr().out
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in ("GONGKAI_RAW", "GONGKAI_DB", "GONGKAI_AGENCIES", "GONGKAI_CORRECTIONS"):
        assert f"\n  {name} " in top
    assert "\n  3  ingest ran and loaded, but some files were rejected" in top


def _gongkai(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GONGKAI_")}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=cwd,
        env=clean | {"PYTHONPATH": str(ROOT)} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_outside_the_project_export_says_where_to_point(tmp_path: Path) -> None:
    done = _gongkai(["export", "reports"], tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "gongkai: error: no warehouse at data/warehouse.ducklake: this folder is not in the gongkai "
        "project; run gongkai from the project folder, or set GONGKAI_DB to the catalog "
        "(…/data/warehouse.ducklake)\n"
    )
    done = _gongkai(["sql", "SELECT 1"], tmp_path, GONGKAI_DB=str(tmp_path / "w.ducklake"))
    assert (done.returncode, done.stderr) == (
        1,
        f"gongkai: error: no warehouse at {tmp_path / 'w.ducklake'} (GONGKAI_DB): "
        "run `gongkai ingest` with the same GONGKAI_DB first\n",
    )


def test_the_project_folder_is_found_from_a_sub_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GONGKAI_DB", "GONGKAI_RAW"):
        monkeypatch.delenv(name, raising=False)
    project = tmp_path / "proj"
    (project / "notebooks" / "deep").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "gongkai"\n', encoding="utf-8")
    monkeypatch.chdir(project / "notebooks" / "deep")
    assert paths.db_path() == project / "data" / "warehouse.ducklake"
    assert paths.raw_dir() == project / "data" / "raw"
    assert paths.agencies_file() == project / "data" / "agencies.csv"
    monkeypatch.chdir(project)  # inside the project folder the defaults stay as printed before
    assert paths.db_path() == Path("data/warehouse.ducklake")
    (project / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    monkeypatch.chdir(project / "notebooks")
    assert paths.project_dir() is None and paths.db_path() == Path("data/warehouse.ducklake")
    (project / "data").mkdir()
    (project / "data" / "warehouse.ducklake").write_bytes(b"")  # a warehouse marks the folder too
    assert paths.project_dir() == project


def test_a_closed_pipe_is_not_an_error(tmp_path: Path, warehouse: Path) -> None:
    sql = "SELECT range AS n FROM range(200000)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGKAI_")}
    env |= {"PYTHONPATH": str(ROOT), "GONGKAI_DB": str(warehouse)}
    gongkai = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "sql", "--csv", sql],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert gongkai.stdout is not None and gongkai.stderr is not None
    assert gongkai.stdout.readline() == b"n\n"
    gongkai.stdout.close()  # as `| head -1` does
    assert gongkai.wait(timeout=60) == 0
    assert gongkai.stderr.read() == b""
