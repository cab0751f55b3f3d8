"""PyTorch eager runner: the host-side reference. The only runner that needs torch and edgevid's
model zoo (it rebuilds the model and loads the artifact's state_dict), so it runs on the host only.
"""

from __future__ import annotations

from pathlib import Path

from .session import Session as BaseSession

NAME = "pytorch"


def version() -> str:
    import torch

    return torch.__version__


class Session(BaseSession):
    def __init__(self, model, settings: dict):
        self._model = model
        self.settings = settings

    def infer(self, inputs: dict) -> list:
        import torch

        with torch.inference_mode():
            out = self._model(*(torch.from_numpy(v) for v in inputs.values()))
        outs = out if isinstance(out, (tuple, list)) else [out]
        return [o.numpy() for o in outs]


def load(artifact_dir, manifest: dict, options) -> Session:
    import torch

    from edgevid.models.ref import build_torch_model  # host-only import, see module docstring

    if options.threads:
        torch.set_num_threads(int(options.threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass
    model = build_torch_model(manifest["source_model"])
    state = torch.load(Path(artifact_dir) / manifest["file"], map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return Session(
        model,
        {
            "num_threads": torch.get_num_threads(),
            "num_interop_threads": torch.get_num_interop_threads(),
        },
    )
