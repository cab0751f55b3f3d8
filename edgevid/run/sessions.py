"""Sessions: each configuration measured in N fresh runner processes, interleaved.

``edgevid bench --sessions N`` runs the configurations of one bench round-robin, A B C A B C ...,
each run a fresh runner process (a *session*: load, warm-up, timed loop), so that a slow stretch
of the machine lands on every configuration instead of on one. Each configuration's sessions are
merged into one record (:func:`merge`):

* ``sessions``: one entry per session, with its own ``samples_ms``, ``p50`` and within-run CI,
  status, load/first-inference times, when it started, how long it took and what was waited
  before it (``cooldown``);
* ``session_summary``: the between-session spread (``edgevid.analysis.sessions.session_summary``:
  median of the session medians, its CI, the coefficient of variation);
* ``samples_ms`` / ``summary``: every session's samples pooled (what single-session tools read).

Stopping rule: with ``SessionPlan.target_ci`` a configuration stops after at least
``MIN_SESSIONS`` sessions once the between-session CI's half-width, relative to the median of
session medians, is at most the target; ``sessions`` is then the cap.

Cooldown (``SessionPlan.cooldown``): before each session after the first, wait until the
device's hottest readable thermal zone is back within ``cooldown_delta_c`` degrees of its reading
before the first session (polling, up to ``cooldown_timeout_s``); where no temperature is
readable (or the device is not this host), a fixed pause of ``cooldown_pause_s``. What was waited
is stored per session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Optional

from edgevid.analysis.sessions import MIN_SESSIONS, session_summary


@dataclass
class SessionPlan:
    sessions: int = 1
    target_ci: Optional[float] = None
    cooldown: bool = False
    cooldown_delta_c: float = 3.0
    cooldown_timeout_s: float = 300.0
    cooldown_pause_s: float = 10.0
    poll_s: float = 2.0

    def __post_init__(self) -> None:
        from edgevid.errors import UserError

        if self.sessions < 1:
            raise UserError("--sessions must be at least 1")
        if self.target_ci is not None and not 0 < self.target_ci < 1:
            raise UserError("--session-ci must be a fraction between 0 and 1, e.g. 0.03")
        if self.target_ci is not None and self.sessions < MIN_SESSIONS:
            raise UserError(f"--session-ci needs --sessions of at least {MIN_SESSIONS} (the cap)")
        for name in ("cooldown_delta_c", "cooldown_timeout_s", "cooldown_pause_s", "poll_s"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must not be negative")

    @property
    def active(self) -> bool:
        return self.sessions > 1 or self.cooldown


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def hottest_c(profile=None) -> Optional[float]:
    """The hottest readable thermal zone of this host (the profile's zones if it names any)."""
    from edgevid.runners.sysinfo import thermal_state

    if profile is not None and not profile.is_local:
        return None
    thermal = getattr(profile, "thermal", None)
    zones = list(
        (thermal.get("zones") if isinstance(thermal, dict) else getattr(thermal, "zones", None))
        or []
    )
    temps = (thermal_state(zones or None, ["/nonexistent"]).get("temps_c") or {}).values()
    return max(temps) if temps else None


def cool_down(
    plan: SessionPlan,
    start_c: Optional[float],
    profile=None,
    read: Optional[Callable[[], Optional[float]]] = None,
    sleep=time.sleep,
) -> dict:
    """Wait before a session; return what was waited (method, seconds, temperatures)."""
    read = read or (lambda: hottest_c(profile))
    t0 = time.monotonic()
    now_c = read()
    if start_c is None or now_c is None:
        sleep(plan.cooldown_pause_s)
        return {
            "method": "pause",
            "waited_s": round(time.monotonic() - t0, 3),
            "reason": "no temperature readable" if now_c is None else "no starting temperature",
            "temp_c": now_c,
        }
    target = start_c + plan.cooldown_delta_c
    first_c = now_c
    while now_c is not None and now_c > target and time.monotonic() - t0 < plan.cooldown_timeout_s:
        sleep(plan.poll_s)
        now_c = read()
    waited = time.monotonic() - t0
    return {
        "method": "temperature",
        "waited_s": round(waited, 3),
        "start_c": start_c,
        "target_c": target,
        "temp_before_c": first_c,
        "temp_c": now_c,
        "timed_out": bool(now_c is not None and now_c > target),
    }


def _session_entry(index: int, record: dict, meta: dict) -> dict:
    s = record.get("summary") or {}
    return {
        "index": index,
        "status": record.get("status"),
        "reason": record.get("reason") or "",
        "p50": s.get("p50"),
        "n": s.get("n"),
        "ci95_low": s.get("ci95_low"),
        "ci95_high": s.get("ci95_high"),
        "stop_reason": record.get("stop_reason"),
        "load_ms": record.get("load_ms"),
        "first_inference_ms": record.get("first_inference_ms"),
        "peak_rss_mb": record.get("peak_rss_mb"),
        "throttled": record.get("throttled"),
        "samples_ms": list(record.get("samples_ms") or []),
        **meta,
    }


def merge(runs: list, plan: SessionPlan) -> dict:
    """One record from a configuration's sessions: ``runs`` is [(record, meta)] in order."""
    from edgevid.runners.loop import summarize

    records = [r for r, _ in runs]
    ok = [r for r in records if r.get("status") == "ok" and r.get("samples_ms")]
    merged = dict(ok[0] if ok else records[0])
    sessions = [_session_entry(i, r, meta) for i, (r, meta) in enumerate(runs)]
    if ok:
        pooled = [v for r in ok for v in r["samples_ms"]]
        merged.update(samples_ms=pooled, summary=summarize(pooled))
    merged["sessions"] = sessions
    merged["session_summary"] = session_summary(
        [s["p50"] for s in sessions if s["status"] == "ok" and s["p50"] is not None]
    )
    merged["session_plan"] = asdict(plan)
    merged["sessions_wall_s"] = round(sum(s.get("wall_s") or 0 for s in sessions), 3)
    failed = [s for s in sessions if s["status"] != "ok"]
    if ok and failed:
        merged["status"] = "error"
        merged["reason"] = (
            f"{len(failed)} of {len(sessions)} sessions did not run; session "
            f"{failed[0]['index']}: {failed[0]['status']}: {failed[0]['reason']}"
        )
    return merged


def measure(
    refs: list,
    entries: list,
    run_one: Callable,
    plan: Optional[SessionPlan] = None,
    profile=None,
    log: Callable[[str], None] = lambda m: None,
) -> Iterator[dict]:
    """Records for every (ref, entry), ``run_one(ref, entry)`` making one session's record.

    Without a plan (or with one session and no cooldown) each configuration runs once, in order,
    and its record is yielded as it is made; with one, sessions interleave across the
    configurations and the merged records are yielded at the end.
    """
    configs = [(ref, entry) for ref in refs for entry in entries]
    if plan is None or not plan.active:
        for ref, entry in configs:
            yield run_one(ref, entry)
        return
    runs: list = [[] for _ in configs]
    done = [False] * len(configs)
    start_c = hottest_c(profile) if plan.cooldown else None
    for s in range(plan.sessions):
        for i, (ref, entry) in enumerate(configs):
            if done[i]:
                continue
            meta: dict = {"round": s}
            if plan.cooldown and (s, i) != (0, 0):
                log(f"cooling down before session {s + 1} of {ref.name} {entry.format}")
                meta["cooldown"] = cool_down(plan, start_c, profile)
            elif plan.cooldown:
                meta["cooldown"] = {
                    "method": "none",
                    "waited_s": 0.0,
                    "temp_c": start_c,
                    "reason": "first session: its temperature is the reference",
                }
            meta["started_at"] = _now()
            t0 = time.monotonic()
            record = run_one(ref, entry)
            meta["wall_s"] = round(time.monotonic() - t0, 3)
            runs[i].append((record, meta))
            if record.get("status") != "ok" and s == 0:
                done[i] = True  # unsupported / export-failed / error: repeating will not help
        if plan.target_ci is not None and s + 1 >= MIN_SESSIONS:
            for i, rs in enumerate(runs):
                meds = [
                    (r.get("summary") or {}).get("p50") for r, _ in rs if r.get("status") == "ok"
                ]
                summ = session_summary([m for m in meds if m is not None])
                half = summ.get("ci_rel_halfwidth")
                if half is not None and half <= plan.target_ci:
                    done[i] = True
        if all(done):
            break
    for rs in runs:
        merged = merge(rs, plan)
        half = (merged["session_summary"] or {}).get("ci_rel_halfwidth")
        if plan.target_ci is not None:
            merged["session_stop_reason"] = (
                "converged" if half is not None and half <= plan.target_ci else "session-cap"
            )
        yield merged
