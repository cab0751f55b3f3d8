"""The artifact cache: what an artifact is made from (its cache key), and why an existing one
cannot be reused. The key covers the model reference, the weights' sha256, every source file the
user's callable's module pulled in from the user's own package (or the zoo family file and the zoo
helpers it builds with, or the .onnx file), the exporter options and any file they name (calibration clips), the converter versions and the upstream artifact; reuse also
needs every file of the artifact to still have the sha256 its manifest records.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Optional

from edgevid.errors import UserError
from edgevid.models.ref import ModelRef
from edgevid.runners.artifact import (
    MANIFEST,
    ArtifactError,
    changed_files,
    load_manifest,
    manifest_digest,
    sha256_file,
)


def _family_file(ref: ModelRef) -> Optional[str]:
    import inspect

    from edgevid.models import get_spec

    return inspect.getsourcefile(get_spec(ref.ref).builder)


#: Zoo modules that describe models but build no layers: edits to them never change an export.
_NOT_MODEL_CODE = {"edgevid.models", "edgevid.models.registry", "edgevid.models.stats"}


def family_sources(ref: ModelRef) -> dict:
    """``{path: sha256}`` of a zoo model's family file and the zoo helpers it builds with
    (``edgevid.models._vit``, ``_mobilenet``, another family's blocks), followed transitively."""
    import inspect

    from edgevid.models import get_spec

    start = inspect.getmodule(get_spec(ref.ref).builder)
    seen: dict = {}
    todo = [start] if start is not None else []
    while todo:
        module = todo.pop()
        name = module.__name__
        path = getattr(module, "__file__", None)
        if name in seen or not path or not name.startswith("edgevid.models"):
            continue
        if name in _NOT_MODEL_CODE:
            continue
        seen[name] = os.path.realpath(path)
        for value in vars(module).values():
            owner = (
                value
                if inspect.ismodule(value)
                else sys.modules.get(getattr(value, "__module__", "") or "")
            )
            if owner is not None and owner.__name__ not in seen:
                todo.append(owner)
    return {p: sha256_file(p) for p in sorted(seen.values())}


def source_sha256(ref: ModelRef) -> Optional[str]:
    """Hash of what the model is built from: the family's source file (zoo), the user's module,
    or the .onnx file itself. A change to it makes cached artifacts stale."""
    if ref.kind == "onnx":
        return sha256_file(ref.ref)
    if ref.kind == "zoo":
        path = _family_file(ref)
    else:
        module = importlib.import_module(ref.ref.partition(":")[0])
        path = getattr(module, "__file__", None)
    return sha256_file(path) if path else None


def _excluded_roots() -> list:
    """Folders whose modules are not the user's: the standard library, site-packages, the
    interpreter's prefixes and edgevid itself."""
    paths = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for name in ("edgevid", "edgevid.exporters", "edgevid.runners"):
        mod_file = getattr(sys.modules.get(name), "__file__", None)
        if mod_file:
            paths.add(str(Path(mod_file).parent))
    return [os.path.realpath(p) + os.sep for p in paths if p]


def user_sources(ref: ModelRef) -> dict:
    """``{path: sha256}`` of every source file the user's callable's module pulled in from the
    user's own code: modules in sys.modules whose file lies under the module's package root or
    the current folder, and not in the standard library, site-packages or edgevid."""
    if ref.kind != "callable":
        return {}
    name = ref.ref.partition(":")[0]
    importlib.import_module(name)
    roots = {os.path.realpath(os.getcwd()) + os.sep}
    top = sys.modules.get(name.split(".")[0])
    top_file = getattr(top, "__file__", None)
    if top_file:
        p = Path(os.path.realpath(top_file))
        roots.add(str(p.parent.parent if p.name == "__init__.py" else p.parent) + os.sep)
    excluded = _excluded_roots()
    out = {}
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if not f:
            continue
        real = os.path.realpath(f)
        if not any(real.startswith(r) for r in roots) or any(real.startswith(x) for x in excluded):
            continue
        if os.path.isfile(real):
            out[real] = sha256_file(real)
    return dict(sorted(out.items()))


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def cache_key(
    ref: ModelRef, versions: dict, options: Optional[dict] = None, upstream: Optional[dict] = None
) -> dict:
    """Everything an artifact is made from; a change to any part makes the artifact stale."""
    key = {
        "source_model": _jsonable(ref.to_dict()),
        "converters": _jsonable(versions),
        "options": _jsonable(options or {}),
        "weights_sha256": None,
        "sources": {},
    }
    if ref.weights:
        if not Path(ref.weights).is_file():
            raise UserError(f"--weights {ref.weights}: no such file")
        key["weights_sha256"] = sha256_file(ref.weights)
    if ref.kind == "onnx":
        key["sources"] = {ref.ref: sha256_file(ref.ref)}
    elif ref.kind == "zoo":
        key["sources"] = family_sources(ref)
    else:
        key["sources"] = user_sources(ref)
    # Options that name a file (an int8 calibration .npy) are inputs too: hash them with the
    # sources, so editing the file makes the artifact stale like editing the model's code.
    for value in key["options"].values():
        if isinstance(value, str) and os.path.isfile(value):
            key["sources"][os.path.realpath(value)] = sha256_file(value)
    if upstream is not None:
        key["upstream"] = {"format": upstream["format"], "sha256": upstream["sha256"]}
    return key


def stale_reason(out_dir: Path, key: dict) -> Optional[str]:
    """Why the artifact in ``out_dir`` cannot be reused for ``key``; None if it can."""
    try:
        m = load_manifest(out_dir)
    except ArtifactError as e:
        return None if not out_dir.exists() else f"the artifact is unusable ({e})"
    old = m.get("cache_key")
    if not isinstance(old, dict):
        return "it was made by an older edgevid (no cache key)"
    digest = m.get("manifest_sha256")
    if digest is not None and digest != manifest_digest(m):
        return f"{MANIFEST} was edited since export"
    changed = changed_files(out_dir, m)
    if changed:
        return f"{changed[0]} changed since export" + (
            f" (and {len(changed) - 1} more file(s))" if len(changed) > 1 else ""
        )
    if old.get("source_model") != key["source_model"]:
        return "the model reference changed"
    if old.get("weights_sha256") != key["weights_sha256"]:
        return f"the weights {key['source_model'].get('weights')} changed since export"
    if old.get("options") != key["options"]:
        return f"the exporter options changed ({old.get('options')} -> {key['options']})"
    if old.get("converters") != key["converters"]:
        diff = [
            f"{k} {old['converters'].get(k)} -> {v}"
            for k, v in key["converters"].items()
            if (old.get("converters") or {}).get(k) != v
        ]
        return "converter versions changed (" + (", ".join(diff) or "removed") + ")"
    if old.get("upstream") != key.get("upstream"):
        return f"its {key['upstream']['format']} source artifact changed"
    recorded = old.get("sources") or {}
    for path in sorted(set(recorded) | set(key["sources"])):
        now = sha256_file(path) if os.path.isfile(path) else None
        if recorded.get(path) != now:
            return f"{path} changed since export"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(folder: Path) -> None:
    """Remove ``.<name>.tmp-<pid>`` / ``.old-<pid>`` folders left by exports that were killed."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        m = re.fullmatch(r"\..+\.(?:tmp|old)-(\d+)", p.name)
        if m and p.is_dir() and (int(m.group(1)) == os.getpid() or not _pid_alive(int(m.group(1)))):
            shutil.rmtree(p, ignore_errors=True)
