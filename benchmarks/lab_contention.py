"""Lab devices and the team database under contention. A script, not a test.

Starts what the tests start (tests/sshd_device.py, tests/lab_coordinator.py, tests/pg_server.py):
a loopback sshd as the board, a labgrid coordinator + exporter with one place, PostgreSQL in a
temp folder. Then:

* command -> first timed iteration (the start of the device run, ``env.lab.window[0]``) with the
  place free;
* N concurrent ``edgevid bench x3d-tiny`` on the one place (default 4): each one's wait, window,
  and whether any two windows overlap;
* W concurrent writers to PostgreSQL (default 8, R records each): records counted by ``history``.

    python benchmarks/lab_contention.py [--clients 4] [--writers 8] [--records 5]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from lab_coordinator import start_lab, stop_lab, user  # noqa: E402
from pg_server import start_pg, stop_pg  # noqa: E402
from sshd_device import start_device, stop_device  # noqa: E402

TIMING = "timing:\n  min_iters: 5\n  min_time_s: 2.0\n  max_time_s: 3.0\n  warmup_max: 3\n"


def profile(dev, tmp: Path) -> Path:
    p = tmp / "labloop.yaml"
    p.write_text(
        "name: labloop\ndescription: labgrid loop\narch: x86_64\nos: linux\n"
        "connection:\n  type: labgrid\n  tags: {soc: loopnano}\n"
        f"  key: {dev.root / 'id_ed25519'}\n  known_hosts: {dev.known_hosts}\n"
        f"  python: {dev.python}\n  workdir: {tmp / 'dev'}\n"
        "formats:\n  - format: onnx\n    provider: CPUExecutionProvider\nthreads: 1\n" + TIMING
    )
    return p


def start_bench(prof: Path, tmp: Path, i: int, env: dict, db: str):
    cmd = [sys.executable, "-m", "edgevid.cli", "bench", "x3d-tiny", "--device", str(prof),
           "--json", "--artifacts", str(tmp / "arts"), "--results", str(tmp / f"r{i}"),
           "--db", db]
    return time.time(), subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)


def finish(t0: float, proc) -> dict:
    out, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"bench failed: {err}")
    rec = json.loads(out)[0]
    a, b = (datetime.fromisoformat(x).timestamp() for x in rec["env"]["lab"]["window"])
    return {"start": t0, "from": a, "to": b, "first_s": a - t0, "waited": "waiting for" in err}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--records", type=int, default=5)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="evlab-"))
    dev = start_device(tmp / "sshd")
    lab = start_lab(tmp / "lab", dev.port, user())
    pg = start_pg()
    try:
        env = {**os.environ, "LG_COORDINATOR": lab.address, "EDGEVID_LAB_STATE": str(tmp / "st")}
        prof = profile(dev, tmp)
        finish(*start_bench(prof, tmp, 99, env, pg.url))  # export + bundle + cache, once
        free = finish(*start_bench(prof, tmp, 0, env, pg.url))
        print(f"place free: command -> first timed iteration {free['first_s']:.1f} s")
        started = []
        for i in range(a.clients):
            started.append(start_bench(prof, tmp, i + 1, env, pg.url))
            time.sleep(0.3)
        runs = [finish(*s) for s in started]
        t0 = min(r["start"] for r in runs)
        print(f"\n{a.clients} concurrent `edgevid bench x3d-tiny` on 1 place (s from first start)")
        print("| client | started | waited | window from | window to | cmd -> first timed |")
        print("|---|---|---|---|---|---|")
        for i, r in enumerate(sorted(runs, key=lambda r: r["from"])):
            print(f"| {i + 1} | {r['start'] - t0:.1f} | {'yes' if r['waited'] else 'no'} | "
                  f"{r['from'] - t0:.1f} | {r['to'] - t0:.1f} | {r['first_s']:.1f} |")
        w = sorted((r["from"], r["to"]) for r in runs)
        overlap = any(w[i][1] > w[i + 1][0] for i in range(len(w) - 1))
        print(f"all ran: {len(runs)}/{a.clients}; windows overlap: {overlap}")

        code = ("import sys; from pathlib import Path; from edgevid.results import store; "
                "from edgevid.runners.record import new_record; "
                "from edgevid.runners.loop import summarize\n"
                "for i in range(int(sys.argv[3])):\n"
                "    s=[1.0,2.0,3.0]; store.save(new_record(model='pgcount', format='onnx', "
                "precision='fp32', device='w'+sys.argv[2], input_shape=[1,3,4,32,32], "
                "threads=i+1, status='ok', samples_ms=s, summary=summarize(s)), "
                "Path(sys.argv[4]), sys.argv[1])")
        t = time.time()
        ws = [subprocess.Popen([sys.executable, "-c", code, pg.url, str(i), str(a.records),
                                str(tmp / f"w{i}")], cwd=ROOT) for i in range(a.writers)]
        ok = sum(p.wait() == 0 for p in ws)
        hist = subprocess.run([sys.executable, "-m", "edgevid.cli", "history", "pgcount", "--db",
                               pg.url, "--json"], capture_output=True, text=True, cwd=tmp)
        n = len(json.loads(hist.stdout))
        print(f"\n{a.writers} concurrent writers x {a.records} records to PostgreSQL: "
              f"{ok} exited 0, history counts {n} of {a.writers * a.records} "
              f"({time.time() - t:.1f} s)")
        print(f"at {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    finally:
        stop_pg(pg)
        stop_lab(lab)
        stop_device(dev)


if __name__ == "__main__":
    main()
