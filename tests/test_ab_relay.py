"""The A/B relay (runners/serve_pair.py) and its host side (edgevid/run/ab_remote.py), without
SSH: the relay runs here as a local process; test_ab_remote.py runs it on the sshd device."""
import json
import subprocess
import sys

import pytest

from edgevid import procs
from edgevid.run import ab as runner
from edgevid.run.ab_remote import Relay


def _relay(tmp_path):
    cmd = [sys.executable, "-m", "edgevid.runners.serve_pair",
           "--side", "base", str(tmp_path / "no-such-artifact"), "{}",
           "--side", "new", str(tmp_path / "no-such-artifact"), '{"threads": "x"}']  # fmt: skip
    return procs.spawn(cmd, stdin=subprocess.PIPE)


def test_relay_protocol(tmp_path):
    p = _relay(tmp_path)
    try:
        first = json.loads(p.stdout.readline())
        assert first["relay"] == "ready" and first["sides"] == ["base", "new"]

        def say(cmd):
            p.stdin.write((json.dumps(cmd) + "\n").encode())
            p.stdin.flush()
            return json.loads(p.stdout.readline())

        assert "relay_error" in say({"start": "other"})
        assert "relay_error" in say({"to": "base", "cmd": {"n": 1}})  # no live process
        line = say({"start": "base", "gen": 7})  # the serve process: unusable artifact
        assert line["side"] == "base" and line["gen"] == 7
        assert json.loads(line["line"])["exit_code"] == 2
        end = json.loads(p.stdout.readline())
        assert end == {**end, "side": "base", "gen": 7, "exit": 2}
        p.stdin.write(b'{"quit": true}\n')
        p.stdin.flush()
        assert p.wait(timeout=10) == 0
    finally:
        procs.stop(p, grace_s=1)


def test_relay_sides_route_by_generation(tmp_path):
    relay = Relay(_relay(tmp_path))
    try:
        for gen, name in enumerate(("base", "new", "base"), 1):
            side = relay.start(runner.SideSpec(name, tmp_path))
            assert side.gen == gen
            with pytest.raises(runner.SideFailed) as e:
                side.receive()
            assert e.value.side == name and e.value.exit_code == 2
    finally:
        relay.send({"quit": True})
        assert relay.proc.wait(timeout=10) == 0
    assert relay.ended or relay.proc.poll() == 0
