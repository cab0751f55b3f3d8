"""A fork server for the tests' CLI runs: ``python tests/cli_zygote.py`` imports the heavy,
fork-safe libraries every ``edgevid`` command needs (torch with its ONNX exporter and FLOP counter,
onnx, the zoo's model families) once, then forks one child per request. The child is a fresh
``python -m edgevid.cli ARGS`` in every way the tests look at -- its own process, working folder,
environment, stdin (/dev/null), stdout and stderr (files), exit code, atexit handlers, child
processes -- but starts in a fraction of a second instead of the 3-4 s those imports cost
(most of the suite's CPU time went there: the suite runs the CLI a few hundred times).

Only libraries that start no thread at import are preloaded: ONNX Runtime and OpenVINO do start
threads (a thread pool in OpenVINO's case), which a forked child would not have, so each command
imports them itself, as a fresh process does. No ``edgevid`` module that reads the environment,
the terminal or file descriptors at import is preloaded (``edgevid.cli`` and below): the child
imports those after it has its own.

Protocol (one JSON object per line): the parent sends ``{"args", "cwd", "env", "stdout",
"stderr"}``; the server answers ``{"pid"}`` once the child runs, then ``{"rc"}`` when it ends
(negative: killed by that signal, as subprocess reports it).
"""

from __future__ import annotations

import json
import os
import runpy
import sys


def preload() -> None:
    import numpy  # noqa: F401
    import onnx  # noqa: F401
    import rich.console  # noqa: F401
    import sqlalchemy  # noqa: F401
    import torch
    import torch.onnx  # noqa: F401
    import torch.utils.flop_counter  # noqa: F401
    import typer  # noqa: F401
    import yaml  # noqa: F401

    import edgevid.models

    edgevid.models.list_models(include_hidden=True)  # every family imported and registered
    # A FLOP count on the meta device, as a results table's GFLOPs column makes: the first one in
    # a process imports torch._dynamo and the meta kernels (about 1.5 s here; no thread started).
    from edgevid.models.stats import count_model

    count_model(lambda: torch.nn.Sequential(torch.nn.Conv3d(3, 4, 3), torch.nn.Flatten(),
                                            torch.nn.Linear(4 * 2 * 6 * 6, 2)), (3, 4, 8, 8))
    torch.set_num_threads(torch.get_num_threads())  # no-op: no parallel region runs here


def child(req: dict) -> None:
    """In the forked child: become ``python -m edgevid.cli ARGS`` and exit as it does."""
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["edgevid", *req["args"]]
    code = 0
    try:
        runpy.run_module("edgevid.cli", run_name="__main__", alter_sys=True)
    except SystemExit as e:  # the CLI always ends this way
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - as the interpreter would: the trace, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    # What a normal interpreter exit does that a test can see: non-daemon threads joined, atexit
    # handlers run, streams flushed. Module teardown is skipped (os._exit): torch and LiteRT's
    # C++ destructors can crash in a forked child, and nothing observable happens there.
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def serve() -> None:
    preload()
    reply = os.fdopen(os.dup(1), "w")
    requests = os.fdopen(os.dup(0), "r")
    reply.write('{"ready": true}\n')
    reply.flush()
    for line in requests:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            reply.close()
            child(req)  # never returns: os._exit with the CLI's exit code
        reply.write(json.dumps({"pid": pid}) + "\n")
        reply.flush()
        _, status = os.waitpid(pid, 0)
        reply.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
        reply.flush()


if __name__ == "__main__":
    serve()
