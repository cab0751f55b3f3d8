"""What goes to a device: the runner bundle (``runners/`` alone) and artifact folders, each named
by a digest so that it is sent once and found again in the device's cache.

- The bundle's digest is the sha256 of ``runners/*.py`` (relative names and contents): a new
  edgevid version with an unchanged runner sends nothing.
- An artifact's cache key is the sha256 of its model file (the manifest's ``sha256``) combined
  with the other files of the folder (the manifest and, for TensorRT, the build settings): the
  same exported file under a rewritten manifest is a new key, so what the device runs is always
  exactly what the host has.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Optional

from edgevid import __version__

RUNNERS_DIR = Path(__file__).resolve().parent.parent.parent / "runners"
LABEL = ".edgevid-label"  # one line in each cached artifact: model format precision


def _runner_files() -> list:
    files = sorted(p for p in RUNNERS_DIR.rglob("*.py") if "__pycache__" not in p.parts)
    if not files:
        raise RuntimeError(f"no runner sources under {RUNNERS_DIR}")
    return files


def bundle_digest() -> str:
    h = hashlib.sha256()
    for f in _runner_files():
        h.update(str(f.relative_to(RUNNERS_DIR)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def bundle_bytes() -> bytes:
    """``runners/`` as a gzipped tar (with a VERSION file), reproducible for one source tree: every
    member's mtime is 0, and so is the gzip header's (``tarfile``'s ``w:gz`` stamps the current
    second there, so two calls a second apart differed)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for f in _runner_files():
                _add(tar, f"runners/{f.relative_to(RUNNERS_DIR)}", f.read_bytes())
            _add(
                tar, "runners/VERSION", f"edgevid {__version__} runner {bundle_digest()}\n".encode()
            )
    return buf.getvalue()


def write_bundle(out: Path) -> Path:
    out = Path(out)
    if out.is_dir():
        out = out / f"edgevid-runner-{__version__}-{bundle_digest()}.tar.gz"
    out.write_bytes(bundle_bytes())
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def artifact_key(artifact_dir: Path) -> str:
    d = Path(artifact_dir)
    manifest = json.loads((d / "artifact.json").read_text())
    h = hashlib.sha256(manifest["sha256"].encode())
    for f in sorted(p for p in d.rglob("*") if p.is_file()):
        rel = f.relative_to(d)
        if rel.parts[0] == manifest["file"] or rel.name.startswith("."):
            continue  # the model file is covered by the manifest's sha256
        h.update(str(rel).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def artifact_label(artifact_dir: Path) -> str:
    m = json.loads((Path(artifact_dir) / "artifact.json").read_text())
    return f"{m.get('model')} {m.get('format')} {m.get('precision')}"


def artifact_tar(artifact_dir: Path, extra: Optional[dict] = None) -> bytes:
    """The artifact folder (model file, manifest, side files) plus its label and ``extra``
    files derived from it ({relative path: bytes}, e.g. raw reference inputs), as a tar."""
    d = Path(artifact_dir)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for f in sorted(d.rglob("*")):
            rel = f.relative_to(d)
            if f.is_file() and not rel.name.startswith("."):
                tar.add(str(f), arcname=str(rel), recursive=False)
        for name, data in sorted((extra or {}).items()):
            _add(tar, name, data)
        _add(tar, LABEL, (artifact_label(d) + "\n").encode())
    return buf.getvalue()
