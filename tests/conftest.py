import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: A short timing policy for tests: correctness, not speed, is what they check. A target CI of 100%
#: is met by any run, so a run stops as soon as it has min_iters samples and min_time seconds
#: (without it, a run on this noisy VM went on to the 1 s cap: ~2 CPU-s a configuration).
FAST = ["--min-iters", "5", "--min-time", "0.2", "--max-time", "1", "--target-ci", "1"]
FAST_POLICY = {"min_iters": 5, "min_time_s": 0.2, "max_time_s": 1.0, "warmup_max": 5,
               "target_ci": 1.0}
# For tests that count samples: the time cap is far enough that min_iters decides the count even
# when this shared VM runs a tiny model 50x slower than usual (seen: 0.3 s an inference).
COUNT_POLICY = {**FAST_POLICY, "max_time_s": 15.0}


def pytest_configure(config):
    """One FLOP-count cache (edgevid.models.stats) for the whole run, in a temporary folder: every
    pytest-xdist worker and every CLI the tests start inherit it from the controller's
    environment, so the zoo is counted about once a run and nothing is read from or written to
    the user's ~/.cache (a run starts cold, as on a fresh machine)."""
    if os.environ.get("EDGEVID_STATS_CACHE"):
        return  # a worker: the controller's, inherited; or the caller's own choice
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="edgevid-test-stats-")
    os.environ["EDGEVID_STATS_CACHE"] = os.path.join(d, "model-stats.json")
    config.add_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))


def default_sigint() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: SIGINT back to its default. A shell runs
    background jobs with SIGINT ignored (``cmd &`` without job control), children inherit that,
    and Python then never raises KeyboardInterrupt -- the interrupt tests would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args, cwd, env=None, timeout=900):
    """Run the real `edgevid` command line in its own process; returns CompletedProcess.

    The process is forked from tests/cli_zygote.py, which has torch and the zoo imported already
    (a fresh process spends 3-4 s on those imports; the suite runs the CLI hundreds of times).
    An environment that changes what Python imports (PYTHONPATH: ``blocked_env``), or
    EDGEVID_TEST_FRESH=1, runs a fresh ``python -m edgevid.cli`` instead."""
    full_env = {**os.environ, **(env or {})}
    argv = [sys.executable, "-m", "edgevid.cli", *map(str, args)]
    if "PYTHONPATH" in (env or {}) or full_env.get("EDGEVID_TEST_FRESH") == "1":
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
    from cli_server import run_forked

    return run_forked(argv, cwd=cwd, env=full_env, timeout=timeout)


def blocked_env(tmp_path: Path, *packages: str) -> dict:
    """Environment in which `import <package>` fails, as on a machine without that package."""
    d = tmp_path / "block"
    d.mkdir(exist_ok=True)
    (d / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import sys
        BLOCKED = {set(packages)!r}
        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None
        sys.meta_path.insert(0, _Block())
    """))
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(d), os.environ.get("PYTHONPATH")]))}


def json_out(proc):
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def x3d_tiny_exports(tmp_path_factory):
    """x3d-tiny exported to every format of the desktop-cpu profile, once for the whole run (all
    pytest-xdist workers: a lock in their shared temporary folder). Real exports by the real CLI;
    ``seed_artifacts`` copies them into a test's artifact folder, where the bench's cache check
    accepts them (content hashes, not paths). The tests that use it check what a bench records,
    not the converters (those have their own tests): a LiteRT export alone is ~10 s here."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    seed = shared / "seed-x3d-tiny"
    with open(shared / "seed-x3d-tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (seed / "done").exists():
            proc = run_cli("bench", "x3d-tiny", "--device", "desktop-cpu", *FAST, "--artifacts",
                           seed / "artifacts", "--results", seed / "results", cwd=shared)
            assert proc.returncode == 0, proc.stderr
            (seed / "done").touch()
    return seed / "artifacts"


def seed_artifacts(exports: Path, root: Path) -> Path:
    """Copy the session's x3d-tiny exports into ``root`` (a test's artifact folder)."""
    import shutil

    shutil.copytree(exports, root, dirs_exist_ok=True)
    return root


# -- the quick set: `bash scripts/test.sh -m "not slow"` ---------------------------------------
#: Whole modules of end-to-end runs: every model family through the converters, LiteRT / Core ML /
#: int8 conversion, an independent implementation, a real sshd device.
SLOW_MODULES = {
    "test_zoo_export",
    "test_models_independent",
    "test_tflite",
    "test_coreml",
    "test_int8",
    "test_device_runner",
    "test_remote_ssh",
    "test_ab_remote",  # edgevid ab on a real sshd device
    "test_study",
    "test_team_db",  # a real PostgreSQL server
    "test_lab_labgrid",  # a labgrid coordinator, an exporter and an sshd
}
#: Fixtures that run the real CLI or export real artifacts: a test that uses one is end to end
#: (``workdir``: the CLI in a temporary folder; the others export or bench once per module).
SLOW_FIXTURES = {"workdir", "artifacts", "bench_records", "dynamic_onnx", "fp32", "device", "arts"}
#: Other tests that run the CLI (in their own folder) or build full-size models.
SLOW_TESTS = {
    "test_models_json_contract",  # `edgevid models --all --json`: counts every variant
    "test_iphone_bench_exports_and_writes_the_xcode_steps",
    "test_models_class_filter_and_accuracy_json",
    "test_bench_class_needs_all",
    "test_models_bad_class_is_exit_2",
    "test_import_cli_stores_a_result_that_history_finds",
    "test_full_variant_params_match_the_papers",  # full-size Mobile-Former variants
    "test_params_track_the_official_checkpoints",  # MoViNet A0-A5 at full size
    "test_released_specs_of_larger_variants_reproduce_paper_gflops",
    "test_cli_ab_end_to_end",  # edgevid ab on two exports of x3d-tiny
    "test_cli_ab_bad_input",
    "test_cli_ab_side_that_cannot_load",
    "test_cli_ab_side_with_failing_numerics",  # exports x3d-tiny, runs ab on it
    "test_serve_dies_with_its_parent",
    "test_repeated_looks_keep_false_settles_bounded",  # 200 simulated runs (~30 s)
    "test_cuda_device_runs_there_or_says_why_not",  # exports, runs the runner
    "test_exported_stream_equals_causal_clip",  # exports to ORT / OpenVINO
    "test_litert_stream_equals_causal_clip",  # LiteRT conversion
    "test_undeclared_or_mismatched_state_is_refused",
}


def pytest_collection_modifyitems(config, items):
    """Mark the end-to-end tests ``slow`` in one place (they still run in CI and by default):
    what is left is in-process and runs in well under 90 s."""
    for item in items:
        module = getattr(item.module, "__name__", "").rsplit(".", 1)[-1]
        name = getattr(item, "originalname", item.name)
        if (module in SLOW_MODULES or name in SLOW_TESTS
                or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)
