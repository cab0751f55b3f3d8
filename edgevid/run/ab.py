"""The A/B coordinator: two warm runner processes, short blocks alternated, trials, a stop rule.

A run is a sequence of *trials*. A trial starts one serve-mode runner per side
(``runners/serve.py``: loaded once, warm), then runs *rounds*: each round runs one block on each
side. Rounds come in counterbalanced pairs: the first of a pair runs the sides in an order drawn
at random (seeded), the second in the reverse order, so a slow period of the machine hits both
sides alike, no side is always first, and every trial of an even round count has each side
first equally often (a fixed first-position effect cancels within the trial). After
``rounds_per_trial`` rounds both processes are stopped and the next trial starts fresh ones.

The stop rule looks at the data only at planned trial counts (``stats.look_schedule``:
min_trials, then 5, 8, 12 and max_trials by default), each look deciding on the
Bonferroni-adjusted interval (``stats.look_confidence``: 98% for five looks, each end a
one-sided 1% test) so that looking more than once does not inflate the chance of a false claim
past 5%. The run stops once a look's verdict is settled (with a gate, ``Plan.fail_above``: once
the gate is decided, pass or fail), at the trial cap, or at ``max_time_s``: a trial starts only
if one as long as the last still ends in time (a short last trial would count as a whole
process start), a round only if it ends in time. A run that ends between planned looks makes
its final analysis in place of the next one (never more looks than planned). ``Outcome.looks``
lists the looks that happened. The reported CI stays the plain 95% one.

Where the blocks come from is injected (``BlockSource``): ``ProcessSource`` starts the real
runner processes; tests drive the coordinator with recorded data.
"""

from __future__ import annotations

import json
import math
import queue
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Protocol

from edgevid import procs
from edgevid.analysis import ab as stats
from edgevid.errors import RunFailed

SIDES = ("base", "new")
#: How long a block's answer may take (a load may take ``Channel.timeout_s``): a block is
#: ``block_s`` of inferences, at least one, so a side silent this long is stuck, not slow.
BLOCK_TIMEOUT_S = 120.0


@dataclass
class Plan:
    """How an A/B run is measured (defaults chosen by measurement: README "edgevid ab")."""

    block_s: float = 0.25  # seconds of inferences per block (at least one inference)
    block_n: int = 0  # > 0: that many inferences per block instead
    block_warmup: int = 1  # untimed inferences at the start of each block (cold after the gap)
    rounds_per_trial: int = 10
    min_trials: int = 3
    max_trials: int = 20
    max_time_s: float = 300.0
    margin: float = stats.DEFAULT_MARGIN
    fail_above: Optional[float] = None  # a gate: the run stops once it is decided (analysis/ab)
    seed: int = 0
    planned_looks: tuple = stats.PLANNED_LOOKS  # trial counts the stop rule may look at

    def looks(self) -> list:
        return stats.look_schedule(self.min_trials, self.max_trials, self.planned_looks)

    def look_confidence(self) -> float:
        return stats.look_confidence(len(self.looks()))


@dataclass
class SideSpec:
    """One side: an artifact folder, the runner's options, and the Python that runs it."""

    name: str
    artifact_dir: Path
    options: dict = field(default_factory=dict)
    python: str = sys.executable


class BlockSource(Protocol):
    def open(self, trial: int) -> dict: ...  # side -> its ready message (pid, numerics, ...)

    def block(self, side: str) -> list: ...  # one block's per-iteration times (ms)

    def close(self) -> None: ...


class SideFailed(RunFailed):
    """A side failed to load, to run, or its process went away (exit code 1; 2 for bad input)."""

    def __init__(self, side: str, message: str, exit_code: int = 1):
        super().__init__(f"{side}: {message}")
        self.side, self.exit_code = side, exit_code
        self.ready: dict = {}  # the ready messages received before it failed (numerics)


class Channel:
    """One side's serve-mode runner, spoken to line by line: ``lines`` gets each line it prints
    and ``None`` when it ends; subclasses say how to send and why it ended."""

    def __init__(self, name: str, timeout_s: float = 600.0):
        self.name, self.timeout_s = name, timeout_s
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()

    def gone(self) -> str:  # why it ended (once ``lines`` said None)
        raise NotImplementedError

    def send(self, cmd: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def quit(self) -> None:
        """Ask it to end without waiting (``close`` then waits): the sides end side by side."""

    def receive(self, timeout_s: Optional[float] = None) -> dict:
        wait = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise SideFailed(self.name, f"no answer within {wait:.0f} s")
            if line is None:
                raise SideFailed(self.name, self.gone())
            if line.startswith("{"):
                try:
                    msg = json.loads(line)
                except ValueError:  # a library's own output on stdout, not the runner's
                    continue
                if not isinstance(msg, dict):
                    continue
                if "error" in msg:
                    raise SideFailed(self.name, msg["error"], int(msg.get("exit_code", 1)))
                return msg


class ServeProcess(Channel):
    """One local serve-mode runner process."""

    def __init__(self, spec: SideSpec, timeout_s: float = 600.0):
        super().__init__(spec.name, timeout_s)
        self.spec = spec
        cmd = [spec.python, "-m", "edgevid.runners.serve", str(spec.artifact_dir)]
        cmd += ["--options", json.dumps(spec.options)]
        try:
            self.proc = procs.spawn(cmd, stdin=subprocess.PIPE)
        except OSError as e:
            raise SideFailed(spec.name, f"cannot start {spec.python}: {e}", 2) from e
        self.stderr: list = []
        self.quitting = False
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr = (self.stderr + [raw.decode("utf-8", "replace").rstrip()])[-20:]

    def gone(self) -> str:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        tail = next((ln for ln in reversed(self.stderr) if ln.strip()), "")
        code = self.proc.poll()
        return f"runner process ended (exit {code}){': ' + tail if tail else ''}"

    def send(self, cmd: dict) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SideFailed(self.spec.name, self.gone()) from None

    def quit(self) -> None:
        if not self.quitting:
            self.quitting = True
            try:
                self.send({"quit": True})
            except SideFailed:
                pass

    def close(self) -> None:
        self.quit()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        procs.stop(self.proc, grace_s=2)


class ProcessSource:
    """Blocks from two serve-mode runners, started afresh for every trial by ``start`` (local
    processes by default; edgevid/run/ab_remote.py starts them on a device through a relay)."""

    def __init__(
        self, sides: list, plan: Plan, start: Callable[[SideSpec], Channel] = ServeProcess
    ):
        self.sides = {s.name: s for s in sides}
        self.plan = plan
        self.start = start
        self.live: dict = {}
        self.rng = random.Random(plan.seed ^ 0x5EED)  # the start order, apart from the rounds'

    def open(self, trial: int) -> dict:
        """Start both sides, in a random order each trial; their ready messages in that order.
        Both start at once (a restart costs ~1.8 s for the pair of x3d-xs here, a fifth of a
        trial); nothing is timed while they load. The order is random because the start can mark
        a process for its whole life: on the development VM, in 9 of 52 trials of an identical
        x3d-xs pair one side ran 2-5% slower for the whole trial, and 8 of those 9 times it was the side
        started first (BASE, then always). A fixed order turns that into a bias; a random one
        into spread, which the trial-level bootstrap holds."""
        self.close()
        ready = {}
        names = list(self.sides)
        self.rng.shuffle(names)
        for name in names:
            self.live[name] = self.start(self.sides[name])
        for name in names:  # both ready first: a refusal names both sides' numerics
            ready[name] = self.live[name].receive()
        for name in self.sides:  # BASE first, whichever started first
            msg = ready[name]
            if (msg.get("numerics") or {}).get("ok") is False:
                self.close()
                e = SideFailed(name, _numerics_failed(msg["numerics"]))
                e.ready = ready
                raise e
        return ready

    def block(self, side: str) -> list:
        p = self.live[side]
        size = {"n": self.plan.block_n} if self.plan.block_n else {"seconds": self.plan.block_s}
        p.send({**size, "warmup": self.plan.block_warmup})
        return _samples(side, p.receive(BLOCK_TIMEOUT_S))

    def close(self) -> None:
        for p in self.live.values():
            p.quit()
        for p in self.live.values():
            p.close()
        self.live = {}

    def shutdown(self) -> None:
        """The end of the run (after the last trial, or a failure)."""
        self.close()


def _samples(side: str, msg: dict) -> list:
    """A block answer's per-iteration times (ms), checked: a runner that answers something else
    has failed (the round could not be measured)."""
    got = msg.get("samples_ms")
    if not isinstance(got, list) or not got:
        raise SideFailed(side, f"the runner answered a block without times: {str(msg)[:200]}")
    out = [float(v) for v in got]
    if not all(math.isfinite(v) and v > 0 for v in out):
        raise SideFailed(side, "the runner answered a block with times that are not positive")
    return out


def _numerics_failed(num: dict) -> str:
    what = f"max |diff| {num['max_abs_diff']:.3g}" if num.get("max_abs_diff") is not None else ""
    tol = f" > tolerance {num['tolerance']:.3g}" if num.get("tolerance") is not None else ""
    why = num.get("reason") or (what + tol)
    return (
        "numerics outside tolerance of the PyTorch reference (FAIL"
        + (f": {why}" if why else "")
        + "): not measured"
    )


def machine_load() -> dict:
    """The load average and CPU use right now (what else ran during the run)."""
    import os

    out: dict = {}
    if hasattr(os, "getloadavg"):
        out["loadavg"] = list(os.getloadavg())
    try:
        import psutil

        out["cpu_percent"] = psutil.cpu_percent(interval=None)
    except ImportError:
        pass
    return out


@dataclass
class Outcome:
    rounds: list  # dicts: trial, round, order, base_ms, new_ms, ratio, t
    trials: list  # dicts: trial, pids {side: pid}, ready {side: message}
    summary: stats.Summary
    seconds: float
    stop_reason: str  # "settled" | "time cap" | "trial cap" | "interrupted" | "failed: ..."
    load: list  # machine_load() samples, one per trial
    looks: list = field(default_factory=list)  # the stop rule's looks: trials, verdict, CI


def run_ab(
    source: BlockSource,
    plan: Plan,
    clock: Callable[[], float] = time.monotonic,
    on_round: Callable[[dict], None] = lambda r: None,
    on_trial: Callable[[dict], None] = lambda t: None,
    load: Callable[[], dict] = machine_load,
) -> Outcome:
    """Measure rounds until the verdict settles or time runs out. A side failing mid-run, or
    Ctrl-C, raises with ``.outcome`` set to what was measured so far."""
    rng = random.Random(plan.seed)
    start = clock()
    rounds: list = []
    trials: list = []
    loads: list = [load()]
    looks: list = []
    schedule, level = plan.looks(), plan.look_confidence()
    reason = "trial cap"

    def summary() -> stats.Summary:
        return stats.summarize(rounds, plan.margin, decision_confidence=level,
                               fail_above=plan.fail_above)  # fmt: skip

    def look(why: str) -> stats.Summary:
        s = summary()
        looks.append(
            {
                "trials": s.trials,
                "rounds": s.rounds,
                "why": why,
                "confidence": level,
                "decision_ci_low": s.decision_ci_low,
                "decision_ci_high": s.decision_ci_high,
                "verdict": s.verdict,
                "gate": s.gate,
            }
        )
        return s

    def outcome(why: str, final: bool = False) -> Outcome:
        if not rounds:
            s = summary()  # nothing measured: the plan's margin and gate, no interval
        elif final and (not looks or looks[-1]["rounds"] != len(rounds)):
            s = look("final")  # the run ended between planned looks: this one replaces the next
        else:
            s = summary()
        return Outcome(rounds, trials, s, clock() - start, why, loads, looks)

    trial_s = 0.0  # how long the last whole trial took, restart included
    try:
        for trial in range(plan.max_trials):
            t_open = clock()
            if trial and t_open - start + trial_s > plan.max_time_s:
                reason = "time cap"  # a trial that cannot end in time is not started
                break
            ready = source.open(trial)
            info = {"trial": trial, "pids": {s: m.get("pid") for s, m in ready.items()}}
            info["ready"] = ready
            info["started"] = list(ready)  # the start order (ProcessSource: random per trial)
            trials.append(info)
            on_trial(info)
            per_round = None
            for i in range(plan.rounds_per_trial):
                t0 = clock()
                if per_round is not None and t0 - start + per_round > plan.max_time_s:
                    reason = "time cap"
                    break
                if i % 2 == 0:
                    order = list(SIDES)
                    rng.shuffle(order)
                else:  # the pair's second round: the reverse of the first
                    order = order[::-1]
                got = {side: source.block(side) for side in order}
                r = {
                    "trial": trial,
                    "round": i,
                    "order": order,
                    "base_ms": got["base"],
                    "new_ms": got["new"],
                    "ratio": math.exp(stats.round_log_ratio(got["base"], got["new"])),
                    "t": t0 - start,
                }
                rounds.append(r)
                on_round(r)
                per_round = clock() - t0
            source.close()
            loads.append(load())
            if reason == "time cap":
                break
            trial_s = clock() - t_open
            if trial + 1 in schedule and look("planned").settled():
                reason = "settled"
                break
        return outcome(reason, final=True)
    except (KeyboardInterrupt, SideFailed) as e:
        why = "interrupted" if isinstance(e, KeyboardInterrupt) else f"failed: {e}"
        e.outcome = outcome(why)  # type: ignore[union-attr]  # first: a 2nd Ctrl-C loses nothing
        try:
            source.close()
        except KeyboardInterrupt:
            pass  # a second Ctrl-C while the sides stop: the caller's shutdown stops them again
        raise
