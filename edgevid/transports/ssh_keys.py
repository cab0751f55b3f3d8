"""Host keys of an ``ssh`` device: the key it presents now (for ``edgevid devices trust``), its
fingerprints for error messages, and the known_hosts file a trusted key is appended to.

``ssh_args(strict=..., known_hosts=...)`` is the transport's own command line builder, so the
probe connects exactly as a run would (same user, port, jump hosts, identity)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Callable


def host_key(ssh_args: Callable[..., list], timeout: float) -> tuple:
    """(known_hosts lines, fingerprint lines) of the key the device presents now; two empty
    lists when it presents none in ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="edgevid-hostkey-") as d:
        kh = Path(d) / "known_hosts"
        cmd = ssh_args(strict="accept-new", known_hosts=str(kh)) + ["exit 0"]
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass
        if not kh.is_file() or not kh.read_text().strip():
            return [], []
        fps = subprocess.run(
            ["ssh-keygen", "-lf", str(kh)], capture_output=True, text=True
        ).stdout.split("\n")
        return kh.read_text().strip().splitlines(), [f.strip() for f in fps if f.strip()]


def describe(fingerprints: list) -> str:
    """``ED25519 key SHA256:...; RSA key SHA256:...`` for messages."""
    if not fingerprints:
        return "its fingerprint could not be read"
    return "; ".join(f"{f.split()[-1].strip('()')} key {f.split()[1]}" for f in fingerprints)


def known_hosts_file(conn, ssh_args: Callable[..., list]) -> Path:
    """The profile's ``known_hosts``, else the one OpenSSH would use for this host (``ssh -G``)."""
    if conn.known_hosts:
        return Path(os.path.expanduser(conn.known_hosts))
    cmd = ssh_args()
    cmd.insert(1, "-G")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        if line.lower().startswith("userknownhostsfile "):
            return Path(os.path.expanduser(line.split()[1]))
    return Path.home() / ".ssh" / "known_hosts"


def trust(path: Path, lines: list) -> Path:
    """Append ``lines`` (known_hosts entries) to ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a") as f:
        f.write("".join(line.rstrip("\n") + "\n" for line in lines))
    return path
