"""MoViNet stream mode: the per-step module and its exported artifacts (ONNX Runtime, OpenVINO,
LiteRT) fed a clip step by step equal the -causal model on the whole clip, at the tiny configs."""
import json

import numpy as np
import pytest
import torch

from edgevid.artifacts.export import export
from edgevid.models import create_model
from edgevid.models import movinet as mv
from edgevid.models.ref import resolve
from edgevid.runners.artifact import ArtifactError, load_manifest
from edgevid.runners.run import RunOptions, backend_module
from edgevid.runners.state import StreamState

PAIRS = [("movinet-tiny", "movinet-tiny-stream"), ("movinet-tiny-3d-causal", "movinet-tiny-3d-stream")]
T = 7  # longer than every buffer (k_t - 1 <= 4), so a wrong buffer length shows


def clip(seed=5, t=T):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((1, 3, t, 32, 32)).astype(np.float32))


def causal_logits(name, x):
    with torch.no_grad():
        return create_model(name)(x).numpy()


def stream_torch(model, x, k=1):
    state = ()
    with torch.no_grad():
        for t in range(0, x.shape[2], k):
            out = model(x[:, :, t : t + k], *state)
            logits, state = out[0], out[1:]
    return logits.numpy()


def close(a, b):
    return np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


@pytest.mark.parametrize("causal,stream", PAIRS)
def test_same_seed_same_weights_and_stepwise_equals_whole_clip(causal, stream):
    c, s = create_model(causal), create_model(stream)
    sd = s.state_dict()
    assert all(torch.equal(v, sd["net." + k]) for k, v in c.state_dict().items())
    x = clip()
    for t in (1, 3, T):  # every prefix: the stream's answer after frame t
        assert close(stream_torch(s, x[:, :, :t]), causal_logits(causal, x[:, :, :t]))
    assert close(stream_torch(s, x[:, :, :6], k=3), causal_logits(causal, x[:, :, :6]))


def test_a_wrong_buffer_length_fails_the_comparison(monkeypatch):
    """The check above is sensitive: one frame too few in each buffer changes the answer."""
    real = mv._stream_conv

    def short_buffer(m, x, st, name):
        if not (m.causal and m.kt > 1):
            return m(x)
        b, c, _, h, w = x.shape
        n = m.kt - 2
        x = torch.cat([st.take(name + "_buf", (b, c, n, h, w)), x], dim=2)
        st.put(x[:, :, -n:])
        y = torch.nn.functional.pad(x, (0, 0, 0, 0, 1, 0))
        return m.act(m.bn(m.conv(y)))

    x = clip()
    monkeypatch.setattr(mv, "_stream_conv", short_buffer)
    wrong = stream_torch(create_model("movinet-tiny-3d-stream"), x)
    monkeypatch.setattr(mv, "_stream_conv", real)
    assert not close(wrong, causal_logits("movinet-tiny-3d-causal", x))


def test_zoo_entries():
    from edgevid.models import get_spec

    for mid in ("a0", "a1", "a2"):
        spec = get_spec(f"movinet-{mid}-stream")
        assert spec.input[1] == 1 and spec.input[2:] == get_spec(f"movinet-{mid}-causal").input[2:]
    specs = mv.MoViNetStream(mv.MoViNet(mv.MoViNetConfig("a0", causal=True))).state_specs((1, 3, 1, 172, 172))
    assert specs[-2:] == [("head_avg", [1, 480, 1, 1, 1]), ("head_count", [1, 1, 1, 1, 1])]
    with pytest.raises(ValueError, match="causal"):
        mv.MoViNetStream(mv.MoViNet(mv.MoViNetConfig("tiny")))


def run_artifact_stepwise(d, x):
    manifest = load_manifest(d)
    session = backend_module(manifest["runner"]).load(d, manifest, RunOptions(threads=1))
    st = StreamState(manifest, session)
    for t in range(x.shape[2]):
        logits = st.step(np.ascontiguousarray(x[:, :, t : t + 1].numpy()))
    return manifest, np.asarray(logits)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("stream-artifacts")


@pytest.mark.parametrize(
    "fmt,causal,stream",
    [("onnx", *PAIRS[0]), ("onnx", *PAIRS[1]), ("openvino", *PAIRS[0]), ("openvino", *PAIRS[1])],
)
def test_exported_stream_equals_causal_clip(root, fmt, causal, stream):
    d = export(resolve(stream), fmt, root=root)
    x = clip()
    manifest, logits = run_artifact_stepwise(d, x)
    assert [p["input"] for p in manifest["state"]] == [n for n, _ in create_model(stream).state_specs((1, 3, 1, 32, 32))]
    assert manifest["inputs"][0]["name"] == "video" and manifest["outputs"][0]["name"] == "logits"
    assert close(logits, causal_logits(causal, x))


def test_litert_stream_equals_causal_clip(root):
    pytest.importorskip("litert_torch")
    d = export(resolve("movinet-tiny-3d-stream"), "tflite", root=root)
    x = clip()
    manifest, logits = run_artifact_stepwise(d, x)
    assert manifest["state"] and manifest["outputs"][0]["name"] == "logits"
    assert close(logits, causal_logits("movinet-tiny-3d-causal", x))


def test_undeclared_or_mismatched_state_is_refused(root, tmp_path):
    import shutil

    from edgevid.runners.artifact import manifest_digest

    d = export(resolve("movinet-tiny-stream"), "onnx", root=root)

    def tampered(edit):
        out = tmp_path / f"a{len(list(tmp_path.iterdir()))}"
        shutil.copytree(d, out)
        m = json.loads((out / "artifact.json").read_text())
        edit(m)
        m["manifest_sha256"] = manifest_digest(m)
        (out / "artifact.json").write_text(json.dumps(m))
        return out

    def shape(m):
        m["inputs"][2]["shape"] = [1, 1, 1, 1, 2]

    with pytest.raises(ArtifactError, match="state shape mismatch"):
        load_manifest(tampered(shape))
    manifest = load_manifest(tampered(lambda m: m.pop("state")))
    from edgevid.runners.state import frames_input

    with pytest.raises(ArtifactError, match="must declare its state"):
        frames_input(manifest)
