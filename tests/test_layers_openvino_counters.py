"""OpenVINO's per-node counters -> each node's time in each profiled call (runners/layers/openvino).

The CPU plugin reports a node's ``real_time`` as its mean since compilation, truncated to whole
microseconds, and its ``status`` from that mean: ``EXECUTED`` at 1 us or more, else ``NOT_RUN``
(``Graph::getPerfData``). A node of about a microsecond flips between the two from call to call
although it runs in every one; the profiler once dropped those readings, got a short list for the
node and failed with ``IndexError`` (issue 18). These tests replay the counters: from the plugin's
rule applied to known per-call times, and as recorded from a real vidtr-tiny run
(tests/data/openvino_counters.json, written by tests/record_timing_data.py).
"""

from __future__ import annotations

import math

import pytest
from timing_support import recorded

from edgevid.runners.layers.openvino import _per_call, node_times

WARMUP = 3


def plugin_counters(true_us: dict, warmup: int = WARMUP) -> tuple:
    """(base, readings) as the CPU plugin reports them for nodes with the given per-call times
    (us; the first ``warmup`` calls are the warm-up): truncated mean since the first call,
    EXECUTED iff it is at least 1 us."""

    def reading(k):  # after k calls
        out = []
        for name, times in true_us.items():
            mean_us = math.floor(sum(times[:k]) / k)
            status = "EXECUTED" if mean_us > 0 else "NOT_RUN"
            out.append((name, "Eltwise", "jit_avx2", status, mean_us / 1e3))
        return out

    calls = len(next(iter(true_us.values())))
    base = {r[0]: r[4] for r in reading(warmup)}
    return base, [reading(k) for k in range(warmup + 1, calls + 1)]


def test_exact_means_give_each_call_back():
    times = [5.0, 3.0, 4.0, 2.0, 6.0]
    means = [sum(times[: k + 1]) / (k + 1) for k in range(len(times))]
    got = _per_call(means[2:], before=2, base=means[1])
    assert got == pytest.approx(times[2:])


def test_a_node_flipping_between_executed_and_not_run_keeps_every_call():
    iterations = 20
    true_us = {
        "conv": [400.0, 300.0, 250.0] + [200.0 + (i % 3) for i in range(iterations)],
        # about a microsecond: its truncated mean crosses 1 us and back
        "tiny": [0.6, 0.6, 0.6] + [2.5 if i % 4 == 0 else 0.6 for i in range(iterations)],
        "never": [0.0] * (WARMUP + iterations),  # constant-folded: never EXECUTED
    }
    base, readings = plugin_counters(true_us)
    statuses = {r[3] for calls in readings for r in calls if r[0] == "tiny"}
    assert statuses == {"EXECUTED", "NOT_RUN"}  # the case that used to fail
    order, types, times = node_times(readings, WARMUP, base)
    assert order == ["conv", "tiny"] and types["tiny"] == ("Eltwise", "jit_avx2")
    assert all(len(times[n]) == iterations for n in order)
    sums = [sum(times[n][i] for n in order) for i in range(iterations)]  # what profile() adds
    assert len(sums) == iterations
    for name in order:
        for k, (got, want) in enumerate(zip(times[name], true_us[name][WARMUP:])):
            n = WARMUP + k + 1  # the truncation of a mean over n calls is worth up to n us
            assert abs(got * 1e3 - want) <= n, (name, k, got, want)
    # over the whole run the truncation telescopes: the total is right to a few calls' worth
    total = sum(times["conv"]) * 1e3
    assert abs(total - sum(true_us["conv"][WARMUP:])) <= WARMUP + iterations


def test_a_node_missing_from_some_listings_is_bridged():
    true_us = {"a": [10.0] * WARMUP + [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]}
    base, readings = plugin_counters(true_us)
    readings[1] = []  # not listed after the 2nd profiled call
    readings[2] = []  # nor the 3rd
    readings[5] = []  # nor the last
    order, _, times = node_times(readings, WARMUP, base)
    got = [t * 1e3 for t in times["a"]]
    assert order == ["a"] and len(got) == 6
    assert got[0] == pytest.approx(10.0)
    # 20 + 30 + 40 us, shared evenly over the gap (to the truncation: up to 7 us after 7 calls)
    assert got[1] == got[2] == got[3] and abs(sum(got[1:4]) - 90.0) <= 7
    assert abs(got[4] - 50.0) <= 8
    # after the last reading: the mean since compilation so far, 22 us after 8 calls
    assert got[5] == pytest.approx(math.floor(sum(true_us["a"][:8]) / 8)) == 22
    # no base reading (not listed after the warm-up): the first mean stands for its call
    _, _, times = node_times(readings, WARMUP, {})
    assert times["a"][0] * 1e3 == pytest.approx(math.floor(sum(true_us["a"][:4]) / 4))


def test_recorded_counters_of_a_real_run():
    data = recorded("openvino_counters.json")
    warmup, nodes = data["meta"]["warmup"], data["nodes"]
    readings = [[(*node, *got) for node, got in zip(nodes, call)] for call in data["readings"]]
    base = {node[0]: ms for node, ms in zip(nodes, data["base"])}
    order, types, times = node_times(readings, warmup, base)
    executed = {r[0] for calls in readings for r in calls if r[3] == "EXECUTED"}
    assert set(order) == executed and len(order) > 10
    for name in order:
        assert len(times[name]) == len(readings) and min(times[name]) >= 0
        # where no call was clamped at zero, the per-call times telescope to the counters'
        # totals: n_last * m_last - warmup * m_base
        means = [next(r[4] for r in calls if r[0] == name) for calls in readings]
        n_last = warmup + len(readings)
        total = n_last * means[-1] - warmup * base[name]
        assert sum(times[name]) >= total - 1e-9
    # nodes whose status changed between calls, kept with every reading
    flipped = [n for n in order if len({r[3] for c in readings for r in c if r[0] == n}) > 1]
    for name in flipped:
        assert len(times[name]) == len(readings)
