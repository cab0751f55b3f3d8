"""Exporter options: what each exporter declares it accepts (its ``OPTIONS`` table) and the one
check of a value against that declaration.

An option reaches ``ExportJob.options`` from the CLI (``--export-opt key=value``, a string) or
from a device profile's format entry (``export: {key: value}``, YAML-typed); :func:`check` turns
either into the declared type or raises ``ValueError`` naming the option. Options are part of the
artifact's cache key, so the values kept are canonical (upper-cased choices, absolute paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Option:
    kind: str  # "choice" | "int" | "int-or-file" (a count, or a .npy/.npz file)
    help: str
    choices: Tuple[str, ...] = ()
    lo: Optional[int] = None
    upper: bool = False  # choices compare case-insensitively and are kept upper-case
    precisions: Tuple[str, ...] = ()  # the precisions it applies to; empty: every precision

    def applies(self, precision: Optional[str]) -> bool:
        return not self.precisions or precision is None or precision in self.precisions

    def parse(self, name: str, value: Any) -> Any:
        if self.kind == "choice":
            text = str(value)
            canon = {(c.upper() if self.upper else c): c for c in self.choices}
            key = text.upper() if self.upper else text
            if isinstance(value, bool) or key not in canon:
                raise ValueError(
                    f"export option {name!r} must be one of "
                    f"{', '.join(self.choices)}, got {value!r}"
                )
            return canon[key]
        if self.kind in ("int", "int-or-file"):
            number = _as_int(value)
            if number is not None:
                if self.lo is not None and number < self.lo:
                    raise ValueError(
                        f"export option {name!r} must be at least {self.lo}, got {number}"
                    )
                return number
            if self.kind == "int-or-file" and isinstance(value, (str, Path)):
                path = Path(value).expanduser()
                if path.suffix not in (".npy", ".npz") or not path.is_file():
                    raise ValueError(
                        f"export option {name!r} must be a count or an existing "
                        f".npy/.npz file, got {str(value)!r}"
                    )
                return str(path.resolve())
            raise ValueError(
                f"export option {name!r} must be an integer"
                + (" or a .npy/.npz file" if self.kind == "int-or-file" else "")
                + f", got {value!r}"
            )
        raise ValueError(f"unknown option kind {self.kind!r}")


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def check(
    fmt: str,
    declared: Mapping[str, Option],
    given: Mapping[str, Any],
    precision: Optional[str] = None,
) -> Dict[str, Any]:
    """``given`` checked against the exporter's ``declared`` options (and, where ``precision``
    is given, the precisions each applies to), values converted."""
    out = {}
    for name, value in given.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ValueError(f"format {fmt!r} has no export option {name!r} (it takes: {known})")
        if not declared[name].applies(precision):
            raise ValueError(
                f"export option {name!r} of format {fmt!r} applies to "
                f"{', '.join(declared[name].precisions)} only, not {precision}"
            )
        out[name] = declared[name].parse(name, value)
    return dict(sorted(out.items()))


#: int8 calibration, shared by the ONNX, OpenVINO and TensorRT exporters.
CALIBRATION = Option(
    "int-or-file",
    "int8 calibration: a number of seeded clips, or a .npy/.npz "
    "file of clips shaped (N, C, T, H, W)",
    lo=1,
    precisions=("int8",),
)
