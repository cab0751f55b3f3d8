"""The two sides of an A/B run (``edgevid ab``): what each side is (an artifact folder, or a
model to export), where a model side is exported so that neither side's export replaces the
other's artifact, and whether the two artifacts can be paired."""

from __future__ import annotations

import json
from pathlib import Path

from edgevid.errors import RunFailed, UserError


def check_pairing(base: dict, new: dict, shapes_may_differ: bool) -> None:
    """Two manifests that can be compared: same input names; same shapes unless asked."""
    bi, ni = base.get("inputs") or [], new.get("inputs") or []
    bn, nn = [i.get("name") for i in bi], [i.get("name") for i in ni]
    if bn != nn:
        raise UserError(
            f"BASE and NEW take different inputs ({', '.join(map(str, bn))} vs "
            f"{', '.join(map(str, nn))}): they are not two versions of one model"
        )
    bs, ns = [i.get("shape") for i in bi], [i.get("shape") for i in ni]
    if bs != ns and not shapes_may_differ:
        raise UserError(
            f"BASE and NEW take different input shapes ({bs} vs {ns}); give the shapes "
            f"explicitly (MODEL@CxTxHxW or --base-shape/--new-shape) or pass --different-shapes "
            f"to compare them anyway"
        )


def manifest_of(artifact_dir: Path) -> dict:
    path = Path(artifact_dir) / "artifact.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{artifact_dir}: not an artifact folder ({e})") from e


def resolve_side(text, shape, weights, fmt, precision, export_opts, profile):
    """(artifact folder or ModelRef, format entry, shape given?) for one side, nothing exported."""
    from edgevid.models.ref import parse_shape, resolve
    from edgevid.run.bench import entries_for

    if (Path(text) / "artifact.json").is_file():
        m = manifest_of(Path(text))
        if shape or weights:
            raise UserError(f"{text} is an artifact folder: its shape and weights are fixed")
        entry = entries_for(profile, [m["format"]], m["precision"])[0]
        return Path(text), entry, False
    name, _, at = text.rpartition("@") if "@" in text else (text, "", "")
    if at and shape:
        raise UserError(f"{text}: give the shape once (MODEL@CxTxHxW or the --*-shape flag)")
    given = parse_shape(at or shape) if (at or shape) else None
    ref = resolve(name, given or profile.input_shapes.get(name), weights)
    entry = entries_for(profile, [fmt] if fmt else None, precision, export_opts)[0]
    return ref, entry, given is not None


def writes(what, entry, root: Path) -> set:
    """The folders a side's export writes into under ``root`` (its own and, for a format
    converted from ONNX, the ONNX artifact it starts from); a folder side: that folder."""
    import os

    from edgevid.artifacts.export import artifact_dir
    from edgevid.backends import check_precision, get_backend

    if isinstance(what, Path):
        return {os.path.realpath(what)}
    backend = get_backend(entry.format)
    prec = check_precision(backend, entry.precision or backend.precisions[0])
    out = {os.path.realpath(artifact_dir(root, what, backend, prec, entry.export))}
    if backend.source != "torch":
        up = get_backend(backend.source)
        out.add(os.path.realpath(artifact_dir(root, what, up, up.precisions[0], {})))
    return out


def export_roots(resolved: dict, artifacts: Path) -> dict:
    """The artifact root each side exports under. Both share ``artifacts``, so an identical pair
    is one artifact and a rerun reuses it, unless one side's export would write into the other
    side's artifact with something else: an artifact folder's name holds the model, format,
    precision, shape and exporter options but not the weights or an .onnx file's folder, so two
    checkpoints of one model (or two ``model.onnx``) land in one folder, and a side named by its
    artifact folder may be the folder the other side re-exports into. Exporting there would
    replace the other side's artifact and measure one artifact twice; such a side (NEW when both
    are models) exports under ``<artifacts>/ab-<side>/`` instead."""
    roots = {name: Path(artifacts) for name in resolved}
    (bw, be, _), (nw, ne, _) = resolved["base"], resolved["new"]
    if isinstance(bw, Path) and isinstance(nw, Path):
        return roots
    if not isinstance(bw, Path) and not isinstance(nw, Path) and bw == nw and be == ne:
        return roots  # the same model twice: one artifact

    def meet() -> bool:
        return bool(writes(bw, be, roots["base"]) & writes(nw, ne, roots["new"]))

    if not meet():
        return roots
    moved = "new" if not isinstance(nw, Path) else "base"
    roots[moved] = Path(artifacts) / f"ab-{moved}"
    if meet():
        raise UserError(
            f"BASE and NEW would be exported into one folder under {artifacts}: give another "
            f"--artifacts, or export one side first and name its artifact folder"
        )
    return roots


def export_side(text, what, entry, root: Path, artifacts: Path, log) -> Path:
    from edgevid.artifacts.export import ExportFailed, export

    if isinstance(what, Path):
        return what
    if root != Path(artifacts):
        log(f"{text}: exported under {root}: in {artifacts} it would replace the other side")
    try:
        return export(what, entry.format, entry.precision, root=root, log=log, options=entry.export)
    except ExportFailed as e:
        raise RunFailed(f"{text}: export failed: {e}") from e
