"""An A/B run's summary in words (``edgevid ab``'s output and report): the ratio with its CI,
and the gate's answer with what could decide it when it is undecided."""

from __future__ import annotations

import math
from typing import Optional

from edgevid.analysis.ab import FAIL, MIN_DECIDING_TRIALS, PASS, UNDECIDED, Summary


def _what_could_decide(s: Summary, stop_reason: Optional[str]) -> str:
    if s.trials < MIN_DECIDING_TRIALS:
        return "one trial cannot decide: it shows no spread between process starts"
    if stop_reason == "trial cap":
        return "more trials (--max-trials) could decide it"
    if stop_reason == "time cap":
        return "a longer --max-time could decide it"
    return "more trials could decide it"


def _pct(v: float) -> str:
    """2% or 1.5%: a threshold as the user wrote it."""
    return f"{v:.0%}" if round(v * 100, 6).is_integer() else f"{v:.1%}"


def gate_words(s: Summary, stop_reason: Optional[str] = None) -> str:
    """'gate --fail-above 2%: pass (NEW is not 2% slower: the 98.0% CI -1.1% to +1.3% ends
    below +2%)'; ``stop_reason`` (the run's) says what could decide an undecided gate."""
    if s.fail_above is None:
        return ""
    x = _pct(s.fail_above)
    head = f"gate --fail-above {x}: {s.gate}"
    if s.gate is None:
        why = "the run failed or was interrupted" if s.rounds else "no rounds measured"
        return f"gate --fail-above {x}: not decided ({why})"
    if math.isnan(s.decision_ci_low):
        why = "no rounds measured" if not s.rounds else _what_could_decide(s, stop_reason)
        return f"{head} ({why})"
    ci = f"{s.decision_confidence:.1%} CI {100 * (s.decision_ci_low - 1):+.1f}% to "
    ci += f"{100 * (s.decision_ci_high - 1):+.1f}%"
    answers = {
        FAIL: f"NEW is more than {x} slower: the {ci} lies above +{x}",
        PASS: f"NEW is not {x} slower: the {ci} ends below +{x}",
        UNDECIDED: f"the {ci} straddles +{x}; {_what_could_decide(s, stop_reason)}",
    }
    return f"{head} ({answers[s.gate]})"


def in_words(s: Summary) -> str:
    """'NEW is 3.1% slower than BASE (95% CI +1.8% to +4.4%; margin ±2%; 50 rounds in 5 trials;
    decided on the 98.0% CI (repeated looks)): slower'."""
    if math.isnan(s.ratio):
        return "no rounds measured"
    change = s.ratio - 1
    how = "slower" if change > 0 else "faster"
    ci = (
        "CI not available"
        if math.isnan(s.ci_low)
        else f"95% CI {100 * (s.ci_low - 1):+.1f}% to {100 * (s.ci_high - 1):+.1f}%"
    )
    rule = (
        f"; decided on the {s.decision_confidence:.1%} CI (repeated looks)"
        if abs(s.decision_confidence - s.confidence) > 1e-9
        else ""
    )
    return (
        f"NEW is {abs(change):.1%} {how} than BASE ({ci}; margin ±{_pct(s.margin)}; "
        f"{s.rounds} rounds in {s.trials} trials{rule}): {s.verdict or 'no verdict'}"
    )
