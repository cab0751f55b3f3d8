"""Converter chatter (TensorFlow, torchao, onnxslim, tqdm bars, C++ logs) kept out of the
terminal: while a converter runs, file descriptors 1 and 2 point at a log file.

``edgevid export`` writes that log beside the artifact (``export.log``); with ``edgevid
--verbose`` its text is shown on stderr too; a failed export's message points to it. The CLI's
own consoles write to duplicates of the terminal's descriptors made at start-up, so progress and
results still reach the terminal while a converter runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

#: Set by ``edgevid --verbose``: converter output is echoed to the terminal after each step.
settings = {"verbose": bool(os.environ.get("EDGEVID_VERBOSE"))}
_terminal = {"stderr": None}


def terminal_stderr():
    """A stream on the terminal's stderr that converter redirection does not touch."""
    if _terminal["stderr"] is None:
        _terminal["stderr"] = os.fdopen(os.dup(2), "w", buffering=1)
    return _terminal["stderr"]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


@contextlib.contextmanager
def captured(log_path: Path) -> Iterator[Path]:
    """Send everything written to fds 1 and 2 (Python and native code) to ``log_path``
    (appended) for the duration; echo it to the terminal afterwards with --verbose."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = log_path.stat().st_size if log_path.exists() else 0
    _flush()
    saved = (os.dup(1), os.dup(2))
    fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield log_path
    finally:
        _flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)
        if settings["verbose"]:
            echo(log_path, start)


def echo(log_path: Path, start: int = 0) -> None:
    try:
        with open(log_path, errors="replace") as f:
            f.seek(start)
            text = f.read()
    except OSError:
        return
    if text.strip():
        out = terminal_stderr()
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
