"""Per-layer diffs of two sets of records made with ``edgevid bench --layers``: per configuration
measured on both sides, the change per op class and the layers that got slower."""

from __future__ import annotations

from edgevid.results.select import comparable, short_key
from edgevid.runners.layers.opclass import OP_CLASSES

TOP = 10


def with_layers(records: list) -> list:
    return [r for r in records if isinstance(r.get("layers"), dict)]


def layer_diffs(base: list, new: list, top: int = TOP) -> list:
    """Per configuration with a breakdown on both sides: op-class and per-layer changes."""
    b, _ = comparable(with_layers(base))
    n, _ = comparable(with_layers(new))
    out = []
    for key in sorted(set(b) & set(n), key=lambda k: tuple(map(str, k))):
        lb, ln = b[key]["layers"], n[key]["layers"]
        if not (lb.get("available") and ln.get("available")):
            continue
        classes = []
        for c in OP_CLASSES:
            x, y = (lb.get("by_class") or {}).get(c, 0.0), (ln.get("by_class") or {}).get(c, 0.0)
            if x or y:
                classes.append({"op_class": c, "base_ms": x, "new_ms": y, "delta_ms": y - x})
        old = {x["name"]: x for x in lb.get("layers") or []}
        changed = []
        for x in ln.get("layers") or []:
            prev = old.pop(x["name"], None)
            base_ms = prev["ms"] if prev else 0.0
            changed.append(
                {
                    "name": x["name"],
                    "module": x.get("module"),
                    "op_class": x["op_class"],
                    "base_ms": base_ms,
                    "new_ms": x["ms"],
                    "delta_ms": x["ms"] - base_ms,
                    "only_in": None if prev else "new",
                }
            )
        changed += [
            {
                "name": x["name"],
                "module": x.get("module"),
                "op_class": x["op_class"],
                "base_ms": x["ms"],
                "new_ms": 0.0,
                "delta_ms": -x["ms"],
                "only_in": "base",
            }
            for x in old.values()
        ]
        changed.sort(key=lambda d: -d["delta_ms"])
        out.append(
            {
                "key": short_key(key),
                "base_sum_ms": lb.get("sum_ms"),
                "new_sum_ms": ln.get("sum_ms"),
                "by_class": classes,
                "slower_layers": changed[:top],
            }
        )
    return out
