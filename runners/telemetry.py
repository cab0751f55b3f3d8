"""The runtimes' own usage telemetry, off before any runtime is imported.

Two runtimes edgevid drives report usage on their own, unasked, from a user's process:

- ONNX Runtime (1.29 and later, non-Windows): a 1DS uploader that sends a process and session
  events and keeps a device id and an event database under ``~/.cache/Microsoft/DeveloperTools``.
  ``ORT_DISABLE_TELEMETRY=1``, set before ONNX Runtime initialises, creates none of it.
- OpenVINO, through ``openvino_telemetry`` (installed with it): importing its converter (which
  ``import openvino`` does) and each ``convert_model`` send an event from a *forked* process that
  inherits our stdout/stderr and signal handlers and is joined for up to 3 s at exit; it writes a
  client id under ``~/intel``. Measured here: the import forked one sender, a 1-conv convert six
  more; a sender that outlives a SIGKILLed ``edgevid`` holds its pipes open. No variable turns it off, but
  OpenVINO and NNCF fall back to their own no-op stubs when the package cannot be imported, which
  is what marking it absent in ``sys.modules`` does.

A measurement tool should not make network calls or write to ``$HOME`` behind its user's back, nor
run other code in its timed process. A user who set ``ORT_DISABLE_TELEMETRY`` keeps their value; a
host program that imported ``openvino_telemetry`` before edgevid keeps it.
"""

import os
import sys


def off() -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
