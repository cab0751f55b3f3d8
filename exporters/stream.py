"""Stream models' inputs and outputs, shared by the exporters.

A stream model (e.g. ``movinet-a0-stream``) is a per-step module ``forward(frames, *state) ->
(logits, *next_state)`` with a ``state_specs(shape) -> [(name, shape)]`` method. Exported, it is a
stateless graph: the frames input is named ``video``, the logits ``logits``, each state tensor
``NAME`` an input and ``NAME_next`` an output. The manifest declares the pairs as
``"state": [{"input": NAME, "output": NAME_next}, ...]``; the runner carries each output to its
input from call to call (``runners/state.py``), zeros at a stream's start.
"""

from __future__ import annotations

from typing import List, Optional

from .base import INPUT_NAME, OUTPUT_NAME

NEXT = "_next"


def is_stream(model) -> bool:
    return callable(getattr(model, "state_specs", None))


def state_specs(model, shape) -> list:
    """``[(name, shape)]`` of a stream model's state at frames input ``shape``; [] otherwise."""
    return list(model.state_specs(tuple(int(v) for v in shape))) if is_stream(model) else []


def declaration(specs) -> Optional[List[dict]]:
    """The manifest's ``state`` list, or None for a model without state."""
    return [{"input": n, "output": n + NEXT} for n, _ in specs] or None


def io_names(specs) -> tuple:
    """(input names, output names) in the model's argument and result order."""
    names = [n for n, _ in specs]
    return [INPUT_NAME, *names], [OUTPUT_NAME, *(n + NEXT for n in names)]


def example_args(model, shape) -> tuple:
    """Positional example inputs: the frames, then zeros for each state tensor."""
    import torch

    specs = state_specs(model, shape)
    return (torch.zeros(tuple(shape)), *(torch.zeros(tuple(s)) for _, s in specs))


def manifest_order(specs_list: list, names: list) -> list:
    """``specs_list`` (manifest I/O specs) sorted into the model's order ``names`` (a converter
    such as LiteRT may list a signature's tensors in another order)."""
    by_name = {s["name"]: s for s in specs_list}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise RuntimeError(f"the converted model lacks the tensors {missing}")
    return [by_name[n] for n in names]


def check_declared(state, inputs: list, outputs: list) -> None:
    """Raise if a declared state pair is not an input and an output of the same shape."""
    ins = {s["name"]: s["shape"] for s in inputs}
    outs = {s["name"]: s["shape"] for s in outputs}
    for pair in state or []:
        a, b = ins.get(pair["input"]), outs.get(pair["output"])
        if a is None or b is None or list(a) != list(b):
            raise RuntimeError(
                f"state {pair['input']!r} -> {pair['output']!r}: input shape {a}, output shape "
                f"{b} in the converted model"
            )


def keyword_module(model, shape):
    """The stream model with keyword inputs and a dict of named outputs (LiteRT's signature)."""
    from torch import nn

    ins, outs = io_names(state_specs(model, shape))

    class NamedStream(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, **tensors):
            return dict(zip(outs, self.inner(*(tensors[n] for n in ins))))

    return NamedStream(model).eval()
