"""Issue 9, defect 13: interruptions. Ctrl-C / SIGTERM during a bench say how many
configurations were measured and saved, exit 130, print the records so far with --json; the
runner subprocess never outlives the CLI, even when the CLI is SIGKILLed; interrupted or failed
exports leave no temporary or empty folders. Real signals sent to the real CLI process."""
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from conftest import default_sigint

#: Each runner times for 8 s: a runner still there 4 s after the CLI is gone would be a leak
#: (it cannot have finished on its own). One thread: these tests are about signals, and a runner
#: spinning on both cores for 8 s slows every other test of a parallel run.
SLOW = ["--min-iters", "5", "--min-time", "8", "--max-time", "8", "--target-ci", "0.0001",
        "--threads", "1"]
SLOWMOD = """
import os, time, torch
def build():
    if os.environ.get("SLOW_BUILD"):
        open(os.environ["SLOW_BUILD"], "w").close()
        time.sleep(120)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(96, 3))
"""


def _start(workdir, *args, env=None):
    return subprocess.Popen([sys.executable, "-m", "edgevid.cli", *args], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, preexec_fn=default_sigint)


def _runners(pid):
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for k in kids:
        try:
            if "edgevid.runners" in " ".join(k.cmdline()):
                out.append(k)
        except psutil.Error:
            pass
    return out


def _gone(proc, within=4.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def _wait_for(cond, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def _bench_until_second_runner(workdir, json_=True):
    """A 3-configuration bench, stopped while the second configuration's runner runs."""
    args = ["bench", "x3d-tiny", "--to", "onnx", "--to", "openvino", "--to", "pytorch",
            "--precision", "fp32", *SLOW] + (["--json"] if json_ else [])
    cli = _start(workdir, *args)
    _wait_for(lambda: list((workdir / "results").rglob("*.json")) if
              (workdir / "results").exists() else None)
    runners = _wait_for(lambda: _runners(cli.pid))
    return cli, runners


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_bench_reports_what_it_kept(workdir, sig):
    cli, runners = _bench_until_second_runner(workdir)
    cli.send_signal(sig)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 130, err
    text = " ".join(err.split())
    assert "interrupted: 1 of 3 configuration(s) measured and saved under results" in text, err
    assert "Traceback" not in err
    records = json.loads(out)
    assert [r["format"] for r in records] == ["onnx"] and records[0]["status"] == "ok"
    assert len(list((workdir / "results").rglob("*.json"))) == 1
    assert all(_gone(r) for r in runners), "a runner outlived the CLI"


def test_interrupted_bench_without_json(workdir):
    cli, runners = _bench_until_second_runner(workdir, json_=False)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 130
    assert "1 of 3 configuration(s) measured and saved" in " ".join(err.split())
    assert all(_gone(r) for r in runners)


def test_sigkilled_cli_takes_its_runner_with_it(workdir):
    cli, runners = _bench_until_second_runner(workdir)
    cli.kill()
    cli.communicate(timeout=60)
    assert all(_gone(r) for r in runners), "the runner kept running under another parent"


def _export_slow(workdir, marker):
    (workdir / "slowmod.py").write_text(SLOWMOD)
    env = {"PYTHONPATH": str(workdir), "SLOW_BUILD": str(marker)}
    cli = _start(workdir, "export", "slowmod:build", "--to", "onnx", "--input-shape", "3x2x4x4",
                 env=env)
    _wait_for(marker.exists, timeout=120)
    return cli


def test_interrupted_export_leaves_no_temporary_or_empty_folder(workdir):
    cli = _export_slow(workdir, workdir / "building")
    assert list((workdir / "artifacts/slowmod.build").glob(".*.tmp-*"))  # it is mid-export
    cli.send_signal(signal.SIGINT)
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == 130, err
    assert "Traceback" not in err
    assert not (workdir / "artifacts/slowmod.build").exists()


def test_killed_export_temporary_folder_is_swept_next_time(workdir):
    cli = _export_slow(workdir, workdir / "building")
    cli.kill()
    cli.communicate(timeout=60)
    model_dir = workdir / "artifacts/slowmod.build"
    assert list(model_dir.glob(".*.tmp-*"))  # SIGKILL leaves it: nothing can run then
    p = subprocess.run([sys.executable, "-m", "edgevid.cli", "export", "slowmod:build", "--to",
                        "onnx", "--input-shape", "3x2x4x4"], cwd=workdir, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(workdir)}, timeout=300)
    assert p.returncode == 0, p.stderr
    assert not list(model_dir.glob(".*.tmp-*"))
    assert sorted(d.name for d in model_dir.iterdir()) == ["onnx-fp32-3x2x4x4"]


def test_runner_exits_when_its_parent_is_not_the_one_it_was_given(workdir):
    """The host passes its pid in EDGEVID_PARENT_PID; a runner whose parent is not that pid
    (it was re-parented: its parent died) exits by itself."""
    p = subprocess.run([sys.executable, "-m", "edgevid.runners", str(workdir / "missing")],
                       env={**os.environ, "EDGEVID_PARENT_PID": "1"}, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 143
    art = workdir / "a"
    ok = subprocess.run([sys.executable, "-m", "edgevid.cli", "export", "x3d-tiny", "--to",
                         "onnx", "--artifacts", str(art)], cwd=workdir, capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    p = subprocess.run([sys.executable, "-m", "edgevid.runners", str(art / "x3d-tiny/onnx-fp32"),
                        "--policy", json.dumps({"min_time_s": 60, "max_time_s": 60})],
                       env={**os.environ, "EDGEVID_PARENT_PID": "1"}, capture_output=True,
                       text=True, timeout=120)
    # 143 (SIGTERM from the watchdog) is the evidence: a run of its full 60 s would exit 0
    assert p.returncode == 143, p.stderr


def test_interrupt_lost_in_a_destructor_still_stops(monkeypatch, capfd):
    """A signal handler's KeyboardInterrupt is lost when it lands while Python runs a destructor
    or a weakref callback ("Exception ignored in ..."): seen for one SIGTERM in ten in the labgrid
    test, whose bench then ran on and exited 0. The interrupt is remembered: no runner starts,
    and the CLI exits 130 even though the command itself ran to its end. In process: the
    handler is run from a real destructor, deterministically."""
    import importlib

    from edgevid import procs

    cli_app = importlib.import_module("edgevid.cli.app")
    lost: list = []
    monkeypatch.setattr(sys, "unraisablehook", lost.append)

    class Holder:
        def __del__(self):
            cli_app._interrupt(signal.SIGTERM, None)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        Holder()  # dropped at once: its __del__ raises KeyboardInterrupt, which Python ignores
        assert [type(u.exc_value) for u in lost] == [KeyboardInterrupt]  # lost, not raised
        assert procs.CANCEL.is_set()
        with pytest.raises(KeyboardInterrupt):
            procs.spawn([sys.executable, "-c", "pass"])
        monkeypatch.setattr(sys, "argv", ["edgevid", "formats"])
        with pytest.raises(SystemExit) as e:
            cli_app.main()
        assert e.value.code == 130
        assert "interrupted: after the command had finished" in " ".join(
            capfd.readouterr().err.split())
    finally:
        procs.CANCEL.clear()
        for s, h in handlers.items():
            signal.signal(s, h)


EXEC_INTERRUPTED = """\
import importlib
import sys
from edgevid import procs

app = importlib.import_module("edgevid.cli.app")  # the module (edgevid.cli.app is also the Typer)

procs.CANCEL.set()  # as the signal handler does
try:
    exec("raise KeyboardInterrupt")  # as a dataclass being built when the signal lands
except KeyboardInterrupt:
    pass  # handled; the command goes on and exits 130
if sys.argv[1] == "cli":
    app._exit(130)
sys.exit(130)
"""


def test_interrupt_handled_inside_exec_still_exits_130(tmp_path):
    """CPython notes a KeyboardInterrupt escaping ``exec`` of a string as unhandled even when it
    is handled later, and ``python -m`` then dies by SIGINT (-2) whatever ``sys.exit`` said: the
    labgrid SIGTERM test did, 2 runs in 6, when the signal landed while torch built a dataclass.
    The control (``bare``: plain ``sys.exit(130)``) shows this CPython does it; the CLI's exit
    (``cli``) clears that note and exits 130."""
    (tmp_path / "interrupted_in_exec.py").write_text(EXEC_INTERRUPTED)

    def run(how):
        return subprocess.run([sys.executable, "-m", "interrupted_in_exec", how], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                              capture_output=True, text=True, timeout=120)

    bare = run("bare")
    if bare.returncode != -signal.SIGINT:
        pytest.skip(f"this CPython exits {bare.returncode}, not -SIGINT: it keeps no such note")
    cli = run("cli")
    assert cli.returncode == 130, cli.stderr
