"""Word 97–2003 (.doc) and WPS (.wps) binaries: converted to DOCX by LibreOffice, then read as DOCX.

Both are OLE2 compound files; nothing in Python reads their tables reliably, LibreOffice does.
Each conversion runs headless with a fresh profile directory (so parallel conversions never
share a locked profile) under a time limit; on timeout the whole process group is killed,
since soffice forks helpers that would otherwise outlive it. On Linux LibreOffice is also told
to die with the thread that started it (``die_with_parent``), so a guarded worker killed on its
time limit does not leave it behind (extract.pool also kills what it forked).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from extract import limits
from extract.document import Document, UnreadableDocument
from extract.readers import docx

SUFFIXES = frozenset({".doc", ".wps"})
SIGNATURES = (b"\xd0\xcf\x11\xe0",)  # OLE2 compound file (also XLS, PPT, MSG: refused in read)

TIMEOUT_S = limits.SOFFICE_TIMEOUT_S
INSTALL_HINT = (
    "DOC/WPS needs LibreOffice: install it (Debian: apt-get install libreoffice-writer-nogui "
    "fonts-noto-cjk; macOS: brew install --cask libreoffice) or save the file as DOCX"
)
# OLE2 stream names are UTF-16LE in the directory; these tell a Word text from other Office files.
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_OTHER_STREAMS = (
    ("Workbook".encode("utf-16-le"), "an Excel workbook (.xls)"),
    ("PowerPoint Document".encode("utf-16-le"), "a PowerPoint presentation (.ppt)"),
    ("__substg1.0_".encode("utf-16-le"), "an Outlook message (.msg)"),
)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` giving the helper ``PR_SET_PDEATHSIG`` = SIGKILL: the kernel kills it when
    the thread that started it dies, however that thread dies (a worker killed with SIGKILL, a
    crash). None where prctl is missing (not Linux). The signal reaches the process started, not
    its own children: extract.pool kills those (kill_orphaned_helpers).

    The function is looked up before the fork, so the child only makes two system calls before
    exec (``preexec_fn`` must stay that small: the parent may have threads).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: no signal would come
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _kind(data: bytes) -> str:
    """'doc' for a Word-compatible binary (Kingsoft WPS writes its .wps files in the same format),
    'wps' for other word-processor binaries LibreOffice can import (MS Works, older WPS);
    raises for Excel, PowerPoint and Outlook files."""
    if _WORD_STREAM in data:
        return "doc"
    for marker, what in _OTHER_STREAMS:
        if marker in data:
            raise UnreadableDocument(f"OLE2 file that is not a Word document: {what}")
    return "wps"


def convert_to_docx(data: bytes, *, suffix: str = ".doc", timeout: float = TIMEOUT_S) -> bytes:
    """The file converted by LibreOffice headless; UnreadableDocument if that is impossible."""
    binary = soffice()
    if binary is None:
        raise UnreadableDocument(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="gongkai-soffice-") as tmp:
        work = Path(tmp)
        source = work / f"input{suffix}"
        source.write_bytes(data)
        out = work / "out"
        profile = (work / "profile").as_uri()
        cmd = [
            binary,
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation={profile}",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(out),
            str(source),
        ]
        env = {**os.environ, "HOME": tmp}  # nothing of a conversion lands in the user's home
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group, so a timeout can kill every helper
            preexec_fn=die_with_parent(),  # and it dies with its parent thread
        )
        try:
            _stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise UnreadableDocument(
                f"LibreOffice did not convert the file within {timeout:.0f} s (damaged or password-protected?)"
            ) from None
        converted = out / "input.docx"
        if not converted.is_file():
            reason = stderr.decode("utf-8", "replace").strip().splitlines()
            detail = f": {reason[-1][:200]}" if reason else ""
            raise UnreadableDocument(
                f"LibreOffice could not convert the file (damaged, encrypted or not a Word document){detail}"
            )
        return converted.read_bytes()


def read(data: bytes) -> Document:
    if not data.startswith(SIGNATURES) and b"\0" in data[:4096]:
        # Not a Word binary; RTF or HTML saved as .doc (LibreOffice reads those) has no NULs.
        # Binary junk would otherwise be imported by LibreOffice as plain text, slowly.
        raise UnreadableDocument(
            "not a DOC/WPS file: no Word binary (OLE2) header and not text either (damaged, or a wrong extension?)"
        )
    kind = _kind(data)
    doc = docx.read(convert_to_docx(data, suffix=f".{kind}"))
    doc.format = kind  # no note: a converted file is not a warning, the format says how it was read
    return doc
