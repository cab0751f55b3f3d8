"""Regression comparison of two sets of result records: is NEW slower than BASE?

Method
------
Records are paired by their key (model, format, precision, device, input shape, threads). Only
records with status ``ok`` and raw ``samples_ms`` take part (the matrix's ``check`` records and
failed runs have no timings); everything else, and every key found on one side only, is listed as
unpaired with the reason. If one side holds several timed records with the same key (a results
folder keeps history), the newest (``created_at``, else the last loaded) is used and the older ones
are listed as superseded.

For each pair:

* ``ratio`` = median(new samples) / median(base samples): 1.10 means NEW is 10% slower.
* ``ci_low``, ``ci_high``: a 95% bootstrap confidence interval of that ratio. The two samples are
  resampled independently (``scipy.stats.bootstrap`` with ``paired=False``), 2000 resamples,
  percentile method, fixed seed, so the same records always give the same interval. (BCa needs a
  jackknife over every sample, which is quadratic in the sample count; runs hold up to 100k.)
* ``p_value``: two-sided Mann-Whitney U test of the two sample sets (no assumption on the shape of
  the latency distribution, which is skewed and often multi-modal).
* ``label``: ``slower`` when the whole CI lies above 1 + margin and p < 0.01, ``faster`` when it
  lies below 1 - margin and p < 0.01, else ``no detectable change``. The practical margin
  (``DEFAULT_MARGIN``, 2%; ``--margin``) means that two runs of one configuration are never
  labelled slower or faster because of sample size alone: with thousands of samples a CI is
  narrow enough to "detect" the percent or two by which two runs of anything differ.

The gate (:func:`gate`) fails a pair only when it is labelled ``slower`` AND the CI's lower bound
exceeds ``1 + fail_above``: the slowdown must be both larger than the threshold and statistically
detectable, so noise cannot fail it and a real but tiny slowdown does not either.

Caveat: the samples of one run are treated as independent draws. They are not quite: a run's
iterations share one process, one memory layout and one stretch of machine load, so two runs of
the same configuration can differ by a percent or two more than the within-run scatter suggests,
and with thousands of samples such a difference can be labelled ``slower``/``faster``. That is why
the gate takes a threshold and the label a margin: set them above the run-to-run spread of your
device (a few percent on a quiet desktop, more on a shared or thermally limited one). Results
measured in different sessions can only be compared as well as the machine held still between
them; ``edgevid ab`` measures both sides in one window (edgevid/run/ab.py) for a trusted verdict.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Iterable, Optional, Union

import numpy as np

from edgevid.errors import UserError
from edgevid.results.select import IDENTITY_FIELDS, comparable, identity

KEY_FIELDS = IDENTITY_FIELDS
N_RESAMPLES = 2000
CONFIDENCE = 0.95
ALPHA = 0.01
#: Practical margin of the labels: a change within +-2% is never called slower/faster.
DEFAULT_MARGIN = 0.02
SEED = 20240607
#: At most this many float64 values per bootstrap batch (about 40 MB).
_BATCH_VALUES = 5_000_000

SLOWER, FASTER, NO_CHANGE = "slower", "faster", "no detectable change"


#: A pair's key is the records' identity (edgevid.results.select).
record_key = identity


@dataclass
class Pair:
    """One configuration measured in both sets, and the verdict on it."""

    model: str
    format: str
    precision: str
    device: Optional[str]
    input_shape: tuple
    threads: Optional[int]
    base_p50: float
    new_p50: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    label: str
    n_base: int
    n_new: int
    variant: str = ""  # runtime and exporter options: part of the key (KEY_FIELDS)
    scenario: str = ""  # "" (timing loop) or a stream's label: part of the key
    margin: float = DEFAULT_MARGIN  # the practical margin the label used

    @property
    def key(self) -> tuple:
        return tuple(getattr(self, f) for f in KEY_FIELDS)

    @property
    def change(self) -> float:
        """Relative change of the median: +0.10 is 10% slower."""
        return self.ratio - 1.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape) if self.input_shape is not None else None
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


@dataclass
class Unpaired:
    """A record that took no part in the comparison, and why."""

    side: str  # "base" | "new"
    model: Optional[str]
    format: Optional[str]
    precision: Optional[str]
    device: Optional[str]
    input_shape: Optional[tuple]
    threads: Optional[int]
    status: Optional[str]
    reason: str
    variant: str = ""  # part of the key (KEY_FIELDS)
    scenario: str = ""  # part of the key (KEY_FIELDS)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape) if self.input_shape is not None else None
        return d


def _unpaired(side: str, record: dict, reason: str) -> Unpaired:
    key = record_key(record)
    return Unpaired(side, **dict(zip(KEY_FIELDS, key)), status=record.get("status"), reason=reason)


def _ratio_of_medians(base, new, axis=-1):
    return np.median(new, axis=axis) / np.median(base, axis=axis)


def ratio_ci(
    base, new, n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE, seed: int = SEED
) -> tuple:
    """Bootstrap CI of median(new)/median(base), resampling the two sets independently."""
    from scipy import stats

    base = np.asarray(base, dtype=np.float64)
    new = np.asarray(new, dtype=np.float64)
    if base.size < 2 or new.size < 2:
        return (float("nan"), float("nan"))
    batch = max(1, min(n_resamples, _BATCH_VALUES // (base.size + new.size)))
    try:
        res = stats.bootstrap(
            (base, new),
            _ratio_of_medians,
            n_resamples=n_resamples,
            batch=batch,
            vectorized=True,
            paired=False,
            confidence_level=confidence,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    except ValueError:
        return (float("nan"), float("nan"))
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def label_for(
    ci_low: float,
    ci_high: float,
    p_value: float,
    alpha: float = ALPHA,
    margin: float = DEFAULT_MARGIN,
) -> str:
    if any(math.isnan(v) for v in (ci_low, ci_high, p_value)) or p_value >= alpha:
        return NO_CHANGE
    if ci_low > 1.0 + margin:
        return SLOWER
    if ci_high < 1.0 - margin:
        return FASTER
    return NO_CHANGE


def compare_samples(
    base_ms, new_ms, key: Optional[tuple] = None, margin: float = DEFAULT_MARGIN
) -> Pair:
    """The verdict on two sample sets (ms); ``key`` fills the Pair's key fields."""
    from scipy import stats

    base = np.asarray(base_ms, dtype=np.float64)
    new = np.asarray(new_ms, dtype=np.float64)
    base_p50, new_p50 = float(np.median(base)), float(np.median(new))
    ratio = new_p50 / base_p50 if base_p50 > 0 else float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # degenerate bootstrap -> nan CI
        ci_low, ci_high = ratio_ci(base, new)
    try:
        p_value = float(stats.mannwhitneyu(base, new, alternative="two-sided").pvalue)
    except ValueError:  # e.g. every value identical
        p_value = float("nan")
    key = key if key is not None else (None,) * len(KEY_FIELDS)
    return Pair(
        **dict(zip(KEY_FIELDS, key)),
        base_p50=base_p50,
        new_p50=new_p50,
        ratio=ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        label=label_for(ci_low, ci_high, p_value, margin=margin),
        n_base=int(base.size),
        n_new=int(new.size),
        margin=margin,
    )


def compare_records(
    base: Iterable[dict], new: Iterable[dict], margin: float = DEFAULT_MARGIN
) -> tuple:
    """Pair BASE and NEW records by key and compare each pair.

    Returns ``(pairs, unpaired)``: a list of :class:`Pair` (sorted by key) and a list of
    :class:`Unpaired` for every record that took no part, with the reason.
    """
    base_by_key, left_base = comparable(base)
    new_by_key, left_new = comparable(new)
    unpaired = [_unpaired("base", r, why) for r, why in left_base]
    unpaired += [_unpaired("new", r, why) for r, why in left_new]
    pairs = []
    for key in sorted(set(base_by_key) | set(new_by_key), key=lambda k: tuple(map(str, k))):
        b, n = base_by_key.get(key), new_by_key.get(key)
        if b is None:
            unpaired.append(_unpaired("new", n, "no base record with the same key"))
        elif n is None:
            unpaired.append(_unpaired("base", b, "no new record with the same key"))
        else:
            pairs.append(compare_samples(b["samples_ms"], n["samples_ms"], key, margin))
    return pairs, unpaired


def gate(pairs: Iterable[Pair], fail_above: float) -> list:
    """The pairs that fail: labelled slower AND the ratio's CI lower bound > 1 + fail_above."""
    return [p for p in pairs if p.label == SLOWER and p.ci_low > 1.0 + fail_above]


_NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_threshold(text: Union[str, float, int]) -> float:
    """A slowdown threshold as a fraction: '5%' -> 0.05, '0.05' -> 0.05, '5' -> 0.05.

    With a ``%`` sign the number is a percentage. A bare number below 1 is a fraction and a bare
    number of 1 or more is a percentage ('1' is 1%, '0.5' is 50%; write '100%' for 100%).
    Negative, non-numeric or non-finite text is a UserError.
    """
    raw = str(text).strip()
    percent = raw.endswith("%")
    body = raw[:-1].strip() if percent else raw
    if not _NUMBER.match(body):
        raise UserError(
            f"bad threshold {str(text)!r}: give a slowdown such as 5% (or 0.05 or 5), "
            f"a non-negative number"
        )
    value = float(body)
    if not math.isfinite(value):
        raise UserError(f"bad threshold {str(text)!r}: must be a finite number such as 5%")
    return value / 100.0 if percent or value >= 1 else value


__all__ = [
    "Pair",
    "Unpaired",
    "compare_records",
    "compare_samples",
    "gate",
    "parse_threshold",
    "record_key",
    "ratio_ci",
    "label_for",
    "KEY_FIELDS",
    "SLOWER",
    "FASTER",
    "NO_CHANGE",
]
