"""The transport's parts without a device: connection validation, the quoting of remote
scripts, the runner bundle, and which formats a device can run from what IT reports."""
import io
import subprocess
import sys
import tarfile
from types import SimpleNamespace

import pytest

from edgevid.errors import UserError
from edgevid.transports import remote_sh as sh
from edgevid.transports.base import missing_on_device
from edgevid.transports.bundle import bundle_bytes, bundle_digest
from edgevid.transports.connection import parse_connection, parse_host


def bad(fld, why):
    return UserError(f"field '{fld}' {why}")


def conn(**kw):
    return parse_connection({"type": "ssh", "host": "jetson", **kw}, bad)


@pytest.mark.parametrize("field,value", [
    ("host", "pi;touch x"), ("host", "-oProxyCommand=sh"), ("user", "pi$(id)"),
    ("workdir", "/tmp/a b"), ("workdir", "~/x;rm -rf ~"), ("python", "python3 -c 'x'"),
    ("key", "`id`"), ("port", 70000), ("port", "22"), ("connect_timeout_s", 0),
])
def test_profile_fields_that_could_reach_a_shell_are_refused(field, value):
    with pytest.raises(UserError, match=f"connection.{field}"):
        conn(**{field: value})


def test_connection_defaults_aliases_and_host_override():
    c = conn(user="pi", port=2222, python="~/venv/bin/python")
    assert (c.target, c.port, c.workdir, c.connect_timeout_s) == ("pi@jetson", 2222,
                                                                  "~/edgevid", 10.0)
    assert parse_connection({"type": "ssh", "host": "lab-pi"}, bad).user is None  # an alias
    assert conn(python="none").python is None
    with pytest.raises(UserError, match="connection.serial"):
        parse_connection({"type": "ssh", "host": "x", "serial": "y"}, bad)
    h = parse_host("root@10.0.0.7:2200", c)
    assert (h.user, h.host, h.port, h.python) == ("root", "10.0.0.7", 2200, "~/venv/bin/python")
    assert parse_host("[::1]:2201", c).host == "::1"
    with pytest.raises(ValueError):
        parse_host("me@h;id", c)


def test_remote_scripts_quote_every_value():
    assert sh.path("~/edgevid") == '"$HOME"/edgevid' and sh.path("/a b") == "'/a b'"
    with pytest.raises(ValueError):
        sh.key("../../etc")
    args = ["@@A", "--options", '{"device": "x\';touch /tmp/PWN;\'$(id)"}', "--out", "@@OUT"]
    script = sh.run("~/w", "~/venv/bin/python", "ab" * 8, "cd" * 12, "ef" * 8, args)
    # the hostile value is one single-quoted word; the only expansions are ours
    assert "'{\"device\": \"x'\"'\"';touch /tmp/PWN;'\"'\"'$(id)\"}'" in script
    out = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr  # valid POSIX sh
    wrapped = sh.wrap(script)
    assert wrapped.startswith("exec /bin/sh -c '")


def test_runner_bundle_is_runners_only_and_runs_on_its_own(tmp_path):
    data = bundle_bytes()
    assert bundle_bytes() == data  # reproducible: the same digest sends nothing new
    # ... in any second: the gzip header's mtime (bytes 4-7) is 0, not the time of the call (a
    # second boundary between the two calls above made them differ; this fails every time)
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path, filter="data")
    assert all(n.startswith("runners/") for n in names) and "runners/probe.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert bundle_digest() in (tmp_path / "runners" / "VERSION").read_text()
    proc = subprocess.run([sys.executable, "-m", "runners.probe", "--quick"], cwd=tmp_path,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and '"numpy"' in proc.stdout


def entry(fmt, **options):
    """What missing_on_device reads of a profile's format entry: its format and options."""
    return SimpleNamespace(format=fmt, options=options)


def test_formats_are_chosen_by_what_the_device_reports():
    pi = {"python": "3.11.2", "modules": {"numpy": "1.26", "ai_edge_litert": "2.3.0",
                                         "onnxruntime": "1.20"},
          "programs": {}, "runtimes": {"onnxruntime": {"providers": ["CPUExecutionProvider"]}}}
    assert missing_on_device(entry("tflite"), pi, "pi") == ""
    assert missing_on_device(entry("onnx", provider="CPUExecutionProvider"), pi, "pi") == ""
    cuda = missing_on_device(entry("onnx", provider="CUDAExecutionProvider"), pi, "pi")
    assert "no CUDAExecutionProvider" in cuda
    assert "lacks openvino" in missing_on_device(entry("openvino"), pi, "pi")
    # TensorRT: the host has none, a Jetson does -- the device's report decides
    jetson = {"python": "3.10", "modules": {"numpy": "1.26", "tensorrt": "10.3"}, "programs": {},
              "runtimes": {}}
    assert missing_on_device(entry("tensorrt"), jetson, "orin") == ""
    nano = {"python": None, "modules": {}, "programs": {"trtexec": "/usr/src/tensorrt/bin/"
                                                                   "trtexec"}, "runtimes": {}}
    assert missing_on_device(entry("tensorrt"), nano, "nano") == ""
    assert "no Python on the device" in missing_on_device(entry("onnx"), nano, "nano")
    assert "lacks coremltools" in missing_on_device(entry("coreml"), pi, "pi")
    linux = {**pi, "modules": {**pi["modules"], "coremltools": "9.0"},
             "runtimes": {"coreml": {"can_predict": False}}}
    assert "Core ML predicts on macOS" in missing_on_device(entry("coreml"), linux, "pi")
