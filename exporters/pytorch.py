"""PyTorch "exporter": the state_dict of the eager model, for the host-side reference runner."""

from __future__ import annotations

from . import stream
from .base import INPUT_NAME, ExportedFiles, ExportJob

SOURCE = "torch"
OPTIONS: dict = {}  # nothing to choose: the state_dict as it is


def versions() -> dict:
    import torch

    return {"torch": torch.__version__}


def export(job: ExportJob) -> ExportedFiles:
    import torch

    torch.save(job.model.state_dict(), job.out_dir / job.file_name)
    specs = stream.state_specs(job.model, job.ref.input_shape)
    if specs:  # a stream model: the frames and every state tensor, in the model's order
        ins, outs = stream.io_names(specs)
        shapes = [list(job.ref.input_shape), *(list(s) for _, s in specs)]
        with torch.no_grad():
            logits = job.model(*stream.example_args(job.model, job.ref.input_shape))[0]
        return ExportedFiles(
            inputs=[{"name": n, "shape": s, "dtype": "float32"} for n, s in zip(ins, shapes)],
            outputs=[
                {"name": n, "shape": s, "dtype": "float32"}
                for n, s in zip(outs, [list(logits.shape), *shapes[1:]])
            ],
            extra={"state": stream.declaration(specs)},
        )
    # Output specs are left to the shared code, which runs the reference forward anyway.
    return ExportedFiles(
        inputs=[{"name": INPUT_NAME, "shape": list(job.ref.input_shape), "dtype": "float32"}],
        outputs=[],
    )
