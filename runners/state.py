"""Carrying a stream artifact's state from call to call (numpy only).

A stream artifact is a stateless graph whose state tensors are inputs and outputs, declared in
``artifact.json`` as ``"state": [{"input": NAME, "output": NAME}, ...]`` (checked on load by
``runners.artifact.check_manifest``). The frames input and the logits are the input and the first
output not listed there. :class:`StreamState` feeds each declared output back to its input on the
next call; zeros at a stream's start (``reset``). It works with any session whose ``infer`` returns
the outputs in the manifest's order, so every runtime carries state the same way.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from .artifact import ArtifactError


def frames_input(manifest: dict) -> dict:
    """The input spec that is not state: the frames (a clip model's only input)."""
    state = {p["input"] for p in manifest.get("state") or ()}
    free = [s for s in manifest["inputs"] if s["name"] not in state]
    if len(free) != 1:
        raise ArtifactError(
            f"artifact {manifest.get('model')!r} has inputs {[s['name'] for s in free]} besides "
            "its declared state; a stream artifact must declare its state in artifact.json "
            "('state': [{'input': ..., 'output': ...}]): export the model again"
        )
    return free[0]


def is_stream(manifest: dict) -> bool:
    return bool(manifest.get("state"))


class StreamState:
    """The state of one stream over a session: ``step(frames) -> logits``."""

    def __init__(self, manifest: dict, session):
        self.session = session
        self.frames = frames_input(manifest)["name"]
        outs = [s["name"] for s in manifest["outputs"]]
        pairs = manifest.get("state") or []
        specs = {s["name"]: s for s in manifest["inputs"]}
        self._pairs = [(p["input"], outs.index(p["output"])) for p in pairs]
        self._shapes = {p["input"]: tuple(specs[p["input"]]["shape"]) for p in pairs}
        self._dtypes = {n: specs[n].get("dtype", "float32") for n in self._shapes}
        state_outs = {i for _, i in self._pairs}
        self._logits = next(i for i in range(len(outs)) if i not in state_outs)
        self.state: Dict[str, np.ndarray] = {}
        self.steps = 0
        self.reset()

    def reset(self) -> None:
        """Zeros: the state at a stream's start."""
        self.state = {n: np.zeros(s, self._dtypes[n]) for n, s in self._shapes.items()}
        self.steps = 0

    def inputs(self, frames: np.ndarray) -> dict:
        return {self.frames: frames, **self.state}

    def update(self, outputs: List[object]) -> object:
        """Keep the next state from ``outputs`` (the manifest's order); return the logits."""
        for name, i in self._pairs:
            value = np.asarray(outputs[i])
            if value.shape != self._shapes[name]:
                raise ArtifactError(
                    f"state shape mismatch: {name!r} is {list(self._shapes[name])} in "
                    f"artifact.json, the runtime returned {list(value.shape)}"
                )
            self.state[name] = value
        self.steps += 1
        return outputs[self._logits]

    def step(self, frames: np.ndarray) -> object:
        return self.update(self.session.infer(self.inputs(frames)))


def stepper(manifest: dict, session) -> Optional[StreamState]:
    """A StreamState for a stream artifact, None for a clip model."""
    return StreamState(manifest, session) if is_stream(manifest) else None
