"""The ``manual`` transport: a device no program reaches (an iPhone). ``bench`` exports the
artifact and writes the steps to measure it (Xcode's Core ML performance report) beside it; the
user brings the numbers back with ``edgevid import``. No result is invented: the record is
``unsupported`` with the steps' path as its reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from edgevid.transports.base import RunSpec, Transport


class ManualTransport(Transport):
    kind = "manual"

    def check(self, quick: bool = False) -> dict:
        return {
            "probe": "manual",
            "python": None,
            "modules": {},
            "programs": {},
            "runtimes": {},
            "instructions": self.conn.instructions,
        }

    def streams(self) -> str:
        return "the stream scenario needs edgevid's runner; a manual device runs its own tool"

    def missing(self, entry) -> str:
        return ""  # the artifact is exported; run() says what to do with it

    def run(self, artifact_dir: Path, spec: RunSpec, log: Callable[[str], None]) -> dict:
        from edgevid.tools.xcode import STEPS

        m = json.loads((Path(artifact_dir) / "artifact.json").read_text())
        units = {
            "all": "All",
            "ane": "CPU and Neural Engine",
            "cpu": "CPU only",
            "gpu": "CPU and GPU",
        }.get(str(spec.options.get("device") or "all"), "All")
        steps = Path(artifact_dir).resolve() / "MEASURE-ON-DEVICE.md"
        steps.write_text(
            STEPS.format(
                model=m["model"],
                artifact=artifact_dir,
                units=units,
                device=self.name,
                precision=m["precision"],
            )
        )
        from edgevid.runners.record import record_for_artifact

        return record_for_artifact(
            m,
            spec.threads,
            status="unsupported",
            steps=str(steps),
            reason=f"measured by hand on the {self.name}: steps in {steps}, then "
            f"`edgevid import REPORT.json --model {m['model']} --device "
            f"{self.name}`",
        )
