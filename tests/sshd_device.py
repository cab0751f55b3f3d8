"""A real device for the remote tests: Debian's OpenSSH server on a free loopback port, with its
own host key, user key and config in a temp dir, logging in as the current user, and a separate
virtual env holding only numpy + ONNX Runtime (no torch, no edgevid) as the device's Python."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SSHD = "/usr/sbin/sshd"
FAST_TIMING = {"min_iters": 5, "min_time_s": 0.2, "max_time_s": 1.0, "warmup_max": 5,
               "target_ci": 1.0}  # stops at min_time (conftest.FAST)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Device:
    root: Path
    port: int
    python: str  # the device venv's python
    workdir: Path
    proc: subprocess.Popen  # sshd -D
    known_hosts: Path
    fingerprint: str

    def profile(self, name="loop", known_hosts=None, port=None, timing=None, formats=None,
                connect_timeout_s=5, extra_conn="", workdir=None) -> Path:
        """A device profile YAML reaching this sshd through an ~/.ssh/config-style alias."""
        cfg = self.root / f"ssh_config_{name}"
        cfg.write_text(textwrap.dedent(f"""\
            Host edgevid-loop-{name}
              HostName 127.0.0.1
              Port {port or self.port}
              User {os.environ.get("USER") or "root"}
              IdentityFile {self.root / "id_ed25519"}
              IdentitiesOnly yes
              UserKnownHostsFile {known_hosts or self.known_hosts}
            """))
        fmts = formats or "  - format: onnx\n    provider: CPUExecutionProvider\n"
        timing = timing or FAST_TIMING
        text = (f"name: {name}\ndescription: loopback sshd (tests)\narch: x86_64\nos: linux\n"
                f"connection:\n  type: ssh\n  host: edgevid-loop-{name}\n  ssh_config: {cfg}\n"
                f"  python: {self.python}\n  workdir: {workdir or self.workdir}\n"
                f"  connect_timeout_s: {connect_timeout_s}\n{extra_conn}"
                f"formats:\n{fmts}threads: 1\ntiming:\n"
                + "".join(f"  {k}: {v}\n" for k, v in timing.items()))
        path = self.root / f"{name}.yaml"
        path.write_text(text)
        return path

    def session_pids(self) -> list:
        import psutil

        return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)
                if p.name().startswith("sshd")]

    def runner_pids(self) -> list:
        """Runner processes on the 'device': the device venv's python running runners."""
        import psutil

        out = []
        for p in psutil.process_iter(["cmdline"]):
            cmd = p.info["cmdline"] or []
            if cmd and cmd[0] == self.python and "runners" in cmd:
                out.append(p.pid)
        return out


def _device_venv(base: Path) -> str:
    venv = base / "device-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    # numpy + onnxruntime only, from the pip cache (pinned by constraints.txt)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "-c", str(ROOT / "constraints.txt"), "numpy", "onnxruntime"], check=True,
                   capture_output=True, timeout=600)
    return str(py)


def start_device(base: Path) -> Device:
    if not os.access(SSHD, os.X_OK) or not shutil.which("ssh"):
        pytest.skip("OpenSSH server/client not installed (apt-get install openssh-server "
                    "openssh-client)")
    base.mkdir(parents=True, exist_ok=True)
    for key in ("host_ed25519", "id_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / key)],
                       check=True)
    shutil.copy(base / "id_ed25519.pub", base / "authorized_keys")
    port = free_port()
    (base / "sshd_config").write_text(textwrap.dedent(f"""\
        Port {port}
        ListenAddress 127.0.0.1
        HostKey {base / "host_ed25519"}
        PidFile {base / "sshd.pid"}
        AuthorizedKeysFile {base / "authorized_keys"}
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PubkeyAuthentication yes
        PermitRootLogin prohibit-password
        LogLevel VERBOSE
        """))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation dir
    elif not os.path.isdir("/run/sshd"):
        pytest.skip("sshd needs its privilege-separation dir /run/sshd (create it as root, or "
                    "run the tests as root as CI does)")
    python = _device_venv(base)
    log = open(base / "sshd.log", "w")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(base / "sshd_config")], stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(base / 'sshd.log').read_text()}")
        time.sleep(0.1)
    pub = (base / "host_ed25519.pub").read_text().split()
    kh = base / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
    fp = subprocess.run(["ssh-keygen", "-lf", str(base / "host_ed25519.pub")], capture_output=True,
                        text=True, check=True).stdout.split()[1]
    workdir = base / "device-home" / "edgevid"
    return Device(base, port, python, workdir, proc, kh, fp)


def stop_device(dev: Device) -> None:
    dev.proc.terminate()
    try:
        dev.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        dev.proc.kill()
