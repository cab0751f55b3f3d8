"""ONNX Runtime runner: an .onnx artifact on the execution provider the options name."""

from __future__ import annotations

from pathlib import Path

from .session import Session as BaseSession

NAME = "onnxruntime"

#: The session config entry behind ``RunOptions.spinning``
#: (onnxruntime_session_options_config_keys.h).
SPINNING_KEY = "session.intra_op.allow_spinning"


def version() -> str:
    import onnxruntime

    return onnxruntime.__version__


class Session(BaseSession):
    def __init__(self, sess, settings: dict):
        self._sess = sess
        self.settings = settings

    def infer(self, inputs: dict) -> list:
        return self._sess.run(None, inputs)


def session_options(options):
    """The one definition of the session's options (the timed session and the layer profiler's
    both start here): all graph optimisations, sequential execution, ``threads`` intra-op, and
    ``spinning`` (None: the runtime's default, which spins idle intra-op threads)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if options.threads:
        so.intra_op_num_threads = options.threads
        so.inter_op_num_threads = 1
    if options.spinning is not None:
        so.add_session_config_entry(SPINNING_KEY, "1" if options.spinning else "0")
    return so


def open_session(artifact_dir, manifest: dict, options, so):
    """An InferenceSession on the provider the options name; a silent fallback is an error."""
    import onnxruntime as ort

    provider = options.provider or "CPUExecutionProvider"
    sess = ort.InferenceSession(
        str(Path(artifact_dir) / manifest["file"]), so, providers=[provider]
    )
    used = sess.get_providers()
    if not used or used[0] != provider:
        raise RuntimeError(
            f"ONNX Runtime fell back from {provider} to {used}: not a {provider} result"
        )
    return sess


def load(artifact_dir, manifest: dict, options) -> Session:
    so = session_options(options)
    sess = open_session(artifact_dir, manifest, options, so)
    return Session(
        sess,
        {
            "providers": sess.get_providers(),
            "intra_op_num_threads": so.intra_op_num_threads,
            "inter_op_num_threads": so.inter_op_num_threads,
            "graph_optimization_level": "ORT_ENABLE_ALL",
            "allow_spinning": so.get_session_config_entry(SPINNING_KEY)
            if options.spinning is not None
            else "default",
        },
    )
