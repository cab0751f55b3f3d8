"""Stream vs causal clip at full size, on a runtime: ``movinet-a0-stream`` fed a clip one frame at a
time (its state carried, runners/state.py) against ``movinet-a0-causal`` on the whole clip, both
exported artifacts on the same runtime; prints the max abs difference of the logits.

    python benchmarks/stream_numerics.py [--frames 50] [--to onnx] [--mid a0] [--threads 2]

The clip is seeded Gaussian frames; the two models share their weights (same seed).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--to", default="onnx")
    ap.add_argument("--mid", default="a0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--artifacts", default="artifacts")
    a = ap.parse_args()

    from edgevid.artifacts.export import export
    from edgevid.models.ref import resolve
    from edgevid.runners.artifact import load_manifest
    from edgevid.runners.run import RunOptions, backend_module
    from edgevid.runners.state import StreamState

    stream = resolve(f"movinet-{a.mid}-stream")
    _, c, _, h, w = stream.input_shape
    causal = resolve(f"movinet-{a.mid}-causal", (1, c, a.frames, h, w))
    x = np.random.default_rng(1234).standard_normal((1, c, a.frames, h, w)).astype(np.float32)
    opts = RunOptions(threads=a.threads)

    def load(ref):
        d = export(ref, a.to, root=a.artifacts)
        m = load_manifest(d)
        return m, backend_module(m["runner"]).load(d, m, opts)

    m, session = load(stream)
    st = StreamState(m, session)
    t0 = time.perf_counter()
    for t in range(a.frames):
        logits_stream = np.asarray(st.step(np.ascontiguousarray(x[:, :, t : t + 1])))
    stream_s = time.perf_counter() - t0
    session.close()
    m, session = load(causal)
    t0 = time.perf_counter()
    logits_clip = np.asarray(session.infer({m["inputs"][0]["name"]: x})[0])
    clip_s = time.perf_counter() - t0
    session.close()
    diff = float(np.abs(logits_stream - logits_clip).max())
    out = {
        "stream": stream.name,
        "causal": causal.name,
        "format": a.to,
        "frames": a.frames,
        "input": [c, a.frames, h, w],
        "max_abs_diff": diff,
        "max_abs_logit": float(np.abs(logits_clip).max()),
        "relative": diff / max(float(np.abs(logits_clip).max()), 1e-12),
        "same_top1": int(logits_stream.argmax()) == int(logits_clip.argmax()),
        "stream_s": round(stream_s, 3),
        "clip_s": round(clip_s, 3),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
