"""edgevid converts and runs models without the runtimes' own usage telemetry (runners/telemetry.py).

OpenVINO's ``openvino_telemetry`` sends each event from a process it forks (it inherits the CLI's
stdout/stderr and signal handlers) and writes a client id under ``~/intel``; ONNX Runtime's keeps a
device id and an event database under ``~/.cache/Microsoft``. Every Python process of a real
``edgevid bench --to onnx --to openvino --layers`` (the CLI, which converts, and the runners, which
load, time and profile) runs here with a ``sitecustomize`` that logs each ``os.fork`` (plain
``subprocess`` starts do not call fork hooks); none may happen, and nothing may be written under
the (temporary) home folder. Both failed before the fix, outside CI (where both runtimes stay
quiet on their own: hence the CI variables emptied here).
"""

import json
import os

import numpy as np
import pytest

from conftest import FAST, run_cli

pytest.importorskip("openvino", reason="needs OpenVINO (pip install 'edgevid[openvino]')")
onnx = pytest.importorskip("onnx", reason="needs onnx")

FORK_LOGGER = """
import os, sys, traceback
def _log():
    with open({log!r}, "a") as f:
        f.write("fork in %s:\\n%s\\n" % (sys.argv, "".join(traceback.format_stack(limit=12))))
os.register_at_fork(before=_log)
"""


def _tiny_conv3d(path):
    """A one-Conv3d video model, 1x3x4x16x16 -> 1x4x4x16x16, seeded weights."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).standard_normal((4, 3, 1, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 1, 1, 0, 1, 1])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 16, 16])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def test_convert_run_and_profile_fork_nothing_and_write_nothing_home(tmp_path):
    site, home, log = tmp_path / "site", tmp_path / "home", tmp_path / "forks.log"
    site.mkdir()
    home.mkdir()
    (site / "sitecustomize.py").write_text(FORK_LOGGER.format(log=str(log)))
    _tiny_conv3d(tmp_path / "tiny.onnx")
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "HOME": str(home),
        # OpenVINO's converter sends nothing where CI=true; a user's machine has no CI variable.
        "CI": "", "TF_BUILD": "", "JENKINS_URL": "",
    }
    proc = run_cli("bench", tmp_path / "tiny.onnx", "--to", "onnx", "--to", "openvino", "--layers",
                   "--json",
                   *FAST, "--artifacts", tmp_path / "a", "--results", tmp_path / "r",
                   cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    formats = {r["format"] for r in json.loads(proc.stdout)}
    assert formats == {"onnx", "openvino"}  # it did convert to and run both
    assert not log.exists(), log.read_text()
    assert sorted(p.name for p in home.iterdir()) == [], "written under $HOME"
