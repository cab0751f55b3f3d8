"""PyTorch "exporter": the state_dict of the eager model, for the host-side reference runner."""

from __future__ import annotations

from .base import INPUT_NAME, ExportedFiles, ExportJob

SOURCE = "torch"
OPTIONS: dict = {}  # nothing to choose: the state_dict as it is


def versions() -> dict:
    import torch

    return {"torch": torch.__version__}


def export(job: ExportJob) -> ExportedFiles:
    import torch

    torch.save(job.model.state_dict(), job.out_dir / job.file_name)
    # Output specs are left to the shared code, which runs the reference forward anyway.
    return ExportedFiles(
        inputs=[{"name": INPUT_NAME, "shape": list(job.ref.input_shape), "dtype": "float32"}],
        outputs=[],
    )
