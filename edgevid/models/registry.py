"""The model zoo registry: one entry per variant, ``create_model`` to build one.

A family module (``edgevid/models/<family>.py``) defines its config dataclasses and modules next
to each other and registers each variant with :func:`register_model`. Every variant cites the
paper, table and config it comes from. Families are discovered automatically: adding a file to
``edgevid/models/`` is all it takes.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from edgevid.errors import UserError

#: The four classes of the lightweight-transformer study (Koot et al., 2021).
ARCH_CLASSES = ("composite", "attention-only", "attention-block", "cnn")

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Accuracy:
    """A published top-1 accuracy, so reports can plot latency against accuracy without training.

    ``views`` is crops x clips as the paper states it (e.g. "3x10"); ``source`` the paper and table.
    """

    top1: float  # percent
    dataset: str  # e.g. "Kinetics-400"
    views: str
    source: str


@dataclass(frozen=True)
class ModelSpec:
    """What the zoo knows about one variant, without building it."""

    name: str
    family: str
    arch_class: str
    input: tuple  # (C, T, H, W), batch excluded
    num_classes: int
    source: str  # paper, table and config the variant's configuration comes from
    builder: Callable = field(repr=False, compare=False)
    default: bool = False  # the variant a bare family name means
    hidden: bool = False  # tiny test configurations: listed only with `edgevid models --all`
    paper_params_m: Optional[float] = None  # as reported by the paper, millions
    paper_gflops: Optional[float] = None  # as reported by the paper, at `input`
    notes: str = ""
    accuracy: Optional[Accuracy] = None  # the paper's published top-1, where it gives one

    def build(self, num_classes: Optional[int] = None):
        return self.builder(num_classes=num_classes or self.num_classes)


_REGISTRY: dict[str, ModelSpec] = {}
_DISCOVERED = False


def register_model(
    name: str,
    *,
    family: str,
    arch_class: str,
    input: Sequence[int],
    num_classes: int,
    source: str,
    default: bool = False,
    hidden: bool = False,
    paper_params_m: Optional[float] = None,
    paper_gflops: Optional[float] = None,
    notes: str = "",
    accuracy: Optional[Accuracy] = None,
):
    """Decorator: register ``builder(num_classes=...) -> nn.Module`` as variant ``name``."""
    if arch_class not in ARCH_CLASSES:
        raise ValueError(f"{name}: arch_class must be one of {ARCH_CLASSES}, got {arch_class!r}")
    if len(tuple(input)) != 4:
        raise ValueError(f"{name}: input must be (C, T, H, W), got {input!r}")

    def wrap(builder: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(
            name=name,
            family=family,
            arch_class=arch_class,
            input=tuple(int(v) for v in input),
            num_classes=num_classes,
            source=source,
            builder=builder,
            default=default,
            hidden=hidden,
            paper_params_m=paper_params_m,
            paper_gflops=paper_gflops,
            notes=notes,
            accuracy=accuracy,
        )
        return builder

    return wrap


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        if path.stem.startswith("_") or path.stem in ("registry", "stats", "ref"):
            continue
        importlib.import_module(f"edgevid.models.{path.stem}")
    _DISCOVERED = True  # only once every family is in: an import that failed is tried again


def list_models(include_hidden: bool = False) -> list[ModelSpec]:
    _discover()
    specs = [s for s in _REGISTRY.values() if include_hidden or not s.hidden]
    return sorted(specs, key=lambda s: (s.family, s.name))


def families() -> dict[str, list[ModelSpec]]:
    out: dict[str, list[ModelSpec]] = {}
    for s in list_models(include_hidden=True):
        out.setdefault(s.family, []).append(s)
    return out


def get_spec(name: str) -> ModelSpec:
    """Resolve a variant name or a family name (its default variant)."""
    _discover()
    if name in _REGISTRY:
        return _REGISTRY[name]
    fam = families().get(name)
    if fam:
        defaults = [s for s in fam if s.default] or [s for s in fam if not s.hidden] or fam
        return defaults[0]
    names = sorted(set(_REGISTRY) | set(families()))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UserError(f"unknown model {name!r}.{hint} Run `edgevid models` to list the zoo.")


def create_model(
    name: str,
    *,
    weights: Optional[str] = None,
    seed: int = DEFAULT_SEED,
    num_classes: Optional[int] = None,
):
    """Build a zoo variant: seeded random init, eval mode, optional checkpoint."""
    import torch

    spec = get_spec(name)
    torch.manual_seed(seed)
    model = spec.build(num_classes=num_classes)
    if weights:
        load_weights(model, weights)
    return model.eval()


def load_weights(model, path: str) -> None:
    """Load a user's checkpoint (a state_dict, or a dict holding one under 'state_dict'/'model')."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise UserError(f"weights file not found: {path}")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise UserError(f"cannot read weights {path}: {e}") from e
    if isinstance(state, dict):
        for key in ("state_dict", "model", "model_state"):
            if key in state and isinstance(state[key], dict):
                state = state[key]
                break
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise UserError(f"weights {path} do not fit the model: {str(e).splitlines()[0]}") from e
    if missing or unexpected:
        raise UserError(
            f"weights {path} do not fit the model: {len(missing)} missing keys "
            f"(e.g. {missing[:2]}), {len(unexpected)} unexpected keys (e.g. {unexpected[:2]})"
        )
