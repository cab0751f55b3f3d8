"""Every file and folder edgevid writes goes through here: checked before any work starts, and
written without replacing what the path is.

* A symlink is written through: its target gets the new content, the link stays.
* A path that is not a regular file or a new path (a FIFO, a device node, a folder, a socket) is
  refused with a one-line :class:`UserError` naming the flag.
* A new path is fine if the first folder above it that exists is a writable folder.

``check_output_path`` / ``check_output_dir`` are the early checks (exit 2 in about a second,
before any export or measurement); ``write_text_safely`` is the write.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from edgevid.errors import UserError
from edgevid.runners.record import OutputPathError, output_target, write_atomic


def check_output_path(path, flag: str) -> Path:
    """The path a write to ``path`` lands on; UserError (naming ``flag``) if it cannot be."""
    try:
        return output_target(path)
    except OutputPathError as e:
        raise UserError(f"{flag} {path}: {e}") from None
    except OSError as e:
        raise UserError(f"{flag} {path}: cannot write there: {e.strerror or e}") from None


def check_output_dir(path, flag: str) -> Path:
    """A folder edgevid will create files under: an existing writable folder, or creatable."""
    p = Path(path)
    target = Path(os.path.realpath(p))
    try:
        if target.exists():
            if not target.is_dir():
                raise UserError(f"{flag} {path}: is a file, not a folder; give a folder path")
            if not os.access(str(target), os.W_OK | os.X_OK):
                raise UserError(f"{flag} {path}: folder is not writable")
            return target
        parent = target.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise UserError(f"{flag} {path}: cannot create it: {parent} is a file, not a folder")
        if not os.access(str(parent), os.W_OK | os.X_OK):
            raise UserError(f"{flag} {path}: cannot create it: {parent} is not writable")
    except OSError as e:
        raise UserError(f"{flag} {path}: cannot write there: {e.strerror or e}") from None
    return target


def write_text_safely(path, text: str, flag: Optional[str] = None) -> Path:
    """Write ``text`` to ``path`` atomically, through a symlink, never replacing a non-file."""
    flag = flag or "output"
    check_output_path(path, flag)
    try:
        write_atomic(path, text)
    except OutputPathError as e:
        raise UserError(f"{flag} {path}: {e}") from None
    except OSError as e:
        raise UserError(f"{flag} {path}: cannot write: {e.strerror or e}") from None
    return Path(path)


def slug(name, fallback: str = "unnamed") -> str:
    """``name`` as one safe path part: letters, digits, '.', '_' and '-' only; never '.', '..',
    empty or hidden."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.")
    return text[:120] or fallback


def inside(root, path) -> Path:
    """``path``, checked to stay inside ``root`` once resolved (symlinks included)."""
    root_r, path_r = Path(os.path.realpath(root)), Path(os.path.realpath(path))
    if path_r != root_r and root_r not in path_r.parents:
        raise UserError(f"refusing to write {path}: it is outside {root}")
    return Path(path)
