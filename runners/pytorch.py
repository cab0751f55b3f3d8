"""PyTorch eager runner: the host-side reference. The only runner that needs torch and edgevid's
model zoo (it rebuilds the model and loads the artifact's state_dict), so it runs on the host only.

``device`` (the run option: a CUDA index such as ``0``, or ``cuda:1``) runs it on that GPU: inputs
are copied to it and the outputs back inside each timed call, and the copy back waits for the
GPU, so a call's time is the whole inference. A missing GPU is ``unsupported``, never a silent
CPU run.
"""

from __future__ import annotations

from pathlib import Path

from .record import Unsupported
from .session import Session as BaseSession

NAME = "pytorch"


def version() -> str:
    import torch

    return torch.__version__


class Session(BaseSession):
    def __init__(self, model, settings: dict, device: str = "cpu"):
        self._model = model
        self._device = device
        self.settings = settings

    def infer(self, inputs: dict) -> list:
        import torch

        with torch.inference_mode():
            out = self._model(*(torch.from_numpy(v).to(self._device) for v in inputs.values()))
        outs = out if isinstance(out, (tuple, list)) else [out]
        return [o.cpu().numpy() for o in outs]  # .cpu() waits for the GPU


def torch_device(option) -> str:
    """The run option ``device`` as a torch device: None/cpu -> cpu, 0 or cuda:0 -> cuda:0."""
    text = str(option or "cpu").strip().lower()
    if text == "cpu":
        return "cpu"
    index = text[len("cuda:") :] if text.startswith("cuda:") else text
    if not index.isdigit():
        raise Unsupported(f"PyTorch runner: device {option!r} is neither cpu nor a CUDA index")
    return f"cuda:{int(index)}"


def load(artifact_dir, manifest: dict, options) -> Session:
    import torch

    from edgevid.models.ref import build_torch_model  # host-only import, see module docstring

    if options.threads:
        torch.set_num_threads(int(options.threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass
    device = torch_device(options.device)
    if device != "cpu" and not (
        torch.cuda.is_available() and int(device[5:]) < torch.cuda.device_count()
    ):
        raise Unsupported(
            f"PyTorch runner: no CUDA device {device} here (torch {torch.__version__})"
        )
    model = build_torch_model(manifest["source_model"])
    state = torch.load(Path(artifact_dir) / manifest["file"], map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval().to(device)
    settings = {
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "device": device,
    }
    if device != "cpu":
        settings["gpu"] = torch.cuda.get_device_name(device)
    return Session(model, settings, device)
