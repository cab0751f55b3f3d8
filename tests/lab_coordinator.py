"""A real labgrid lab for the tests: ``labgrid-coordinator`` and ``labgrid-exporter`` on free
loopback ports, the exporter exporting two NetworkServices that point at the loopback sshd
(tests/sshd_device.py), and a place for each (:data:`PLACES`) made with the admin's own
``labgrid-client`` commands.
Skips, in one line, where labgrid is not installed."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sshd_device import free_port

BIN = Path(sys.executable).parent
#: The lab's places: place -> (the exporter's resource group, tags). loop2 is for the tests that
#: reserve two boards at once.
PLACES = {
    "loop1": ("loopdut", ("soc=loopnano", "rack=a")),
    "loop2": ("loopdut2", ("soc=loopnano2", "rack=b")),
}


@dataclass
class Lab:
    address: str
    procs: list
    root: Path

    def client(self, *args, check=True) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "labgrid-client"), "-x", self.address, *args],
                              capture_output=True, text=True, timeout=60, check=check)


def start_lab(root: Path, ssh_port: int, user: str) -> Lab:
    if not (BIN / "labgrid-coordinator").exists():
        pytest.skip("labgrid tests need labgrid: pip install 'edgevid[lab]'")
    root.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    (root / "exporter.yaml").write_text("".join(  # two boards, both the loopback sshd
        f"{group}:\n  NetworkService:\n    address: 127.0.0.1\n    port: {ssh_port}\n"
        f"    username: {user}\n" for group, _ in PLACES.values()
    ))
    coord = subprocess.Popen([str(BIN / "labgrid-coordinator"), "-l", address],
                             stdout=open(root / "coordinator.log", "w"), stderr=subprocess.STDOUT,
                             cwd=root)
    lab = Lab(address, [coord], root)
    _until(lambda: lab.client("places", check=False).returncode == 0, "coordinator")
    exp = subprocess.Popen([str(BIN / "labgrid-exporter"), "-c", address, "--name", "exp1",
                            "--hostname", "127.0.0.1", str(root / "exporter.yaml")],
                           stdout=open(root / "exporter.log", "w"), stderr=subprocess.STDOUT,
                           cwd=root)
    lab.procs.append(exp)
    _until(lambda: all(f"exp1/{g}/" in lab.client("resources", check=False).stdout
                       for g, _ in PLACES.values()), "exporter")
    for place, (group, tags) in PLACES.items():  # the admin's steps for a new board
        lab.client("-p", place, "create")
        lab.client("-p", place, "add-match", f"exp1/{group}/NetworkService")
        lab.client("-p", place, "set-tags", *tags)
    return lab


def _until(ok, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ok():
            return
        time.sleep(0.5)
    raise RuntimeError(f"labgrid {what} did not come up")


def stop_lab(lab: Lab) -> None:
    for p in reversed(lab.procs):
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def user() -> str:
    return os.environ.get("USER") or "root"
