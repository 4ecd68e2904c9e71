"""What every ``gongkai … --help`` says besides its options: an example, the environment
variables the command reads, and the exit codes (one text for the CLI and the README)."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Subcommands(Protocol):
    """What ``ArgumentParser.add_subparsers()`` returns (argparse gives it no public name)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


ENVIRONMENT = {
    "GONGKAI_RAW": "the raw reports folder (default: data/raw of the project folder)",
    "GONGKAI_DB": "the warehouse catalog (default: data/warehouse.ducklake of the project folder)",
    "GONGKAI_AGENCIES": "the agency directory (default: agencies.csv beside the raw folder)",
    "GONGKAI_CORRECTIONS": "corrections by hand (default: corrections.csv beside the raw folder)",
    "GONGKAI_SOURCES": "the report URLs to fetch (default: sources.csv beside the raw folder)",
    "GONGKAI_FETCH_CONTACT": "an e-mail or URL put in fetch's User-Agent so site operators can reach you",
    "GONGKAI_SNAPSHOT_DAYS": "days old warehouse snapshots are kept for time travel (default 7)",
    "DAGSTER_HOME": "the Dagster instance the runs are recorded in (README, Dagster)",
    "GONGKAI_CACHE": "where synth keeps its PDF base documents (default ~/.cache/gongkai)",
    "GONGKAI_DEBUG": "1: an unexpected error prints its Python traceback too",
}

EXIT_CODES = {
    0: "success (ingest: every year loaded or up to date, no file rejected)",
    1: "failed: a run or step failed, nothing to ingest, an input was rejected (extract), "
    "no warehouse, an SQL error, an unexpected error",
    2: "usage error: unknown option, bad year, unknown table, empty SQL …",
    3: "ingest ran and loaded, but some files were rejected (listed in table reports); fetch ran, "
    "but some URLs failed or were not reports (listed in table fetch_log)",
}

# The project folder is found from the current folder upwards; these say so once.
_WHERE = "Run from the project folder or any folder inside it, or set GONGKAI_DB / GONGKAI_RAW."


def _environment(names: Sequence[str]) -> str:
    width = max(map(len, names))
    return "\n".join(f"  {name:<{width}}  {ENVIRONMENT[name]}" for name in names)


def _exit_codes() -> str:
    return "\n".join(
        textwrap.fill(text, 88, initial_indent=f"  {code}  ", subsequent_indent="     ")
        for code, text in EXIT_CODES.items()
    )


def top_epilog() -> str:
    return (
        "example:\n  gongkai synth && gongkai ingest && gongkai tables\n\n"
        f"environment:\n{_environment(list(ENVIRONMENT))}\n\n"
        f"exit status:\n{_exit_codes()}\n\n{textwrap.fill(_WHERE, 88)}"
    )


def command_parser(
    sub: Subcommands,
    name: str,
    func: Callable[[argparse.Namespace], int],
    summary: str,
    examples: Sequence[str],
    environment: Sequence[str] = ("GONGKAI_DEBUG",),
    notes: str = "",
) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with its examples, notes and environment variables."""
    epilog = "example:\n" + "\n".join(f"  {e}" for e in examples)
    if notes:
        epilog += "\n\n" + textwrap.fill(notes, 88)
    epilog += f"\n\nenvironment:\n{_environment(environment)}"
    parser = sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=func)
    return parser
