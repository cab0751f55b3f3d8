"""Constructed block sources for `edgevid ab`'s coordinator (``run.ab.run_ab``) and an injected
clock: the tests drive the method with them and assert its properties, never this machine's
speed. They stand in for two runner processes; the real ones are exercised by the CLI tests."""

from __future__ import annotations

import numpy as np

from edgevid.run import ab as runner


class Recorded:
    """A block source replaying constructed blocks; counts processes like the real one."""

    def __init__(self, ratio=1.0, noise=0.01, seed=3, fail_at=None):
        self.rng = np.random.default_rng(seed)
        self.ratio, self.noise, self.fail_at = ratio, noise, fail_at
        self.calls: list = []
        self.opened = 0
        self.pid = 1000

    def open(self, trial):
        self.opened += 1
        ready = {}
        for side in ("base", "new"):
            self.pid += 1
            ready[side] = {"pid": self.pid, "numerics": {"ok": True}}
        return ready

    def block(self, side):
        self.calls.append(side)
        if self.fail_at is not None and len(self.calls) > self.fail_at:
            raise runner.SideFailed(side, "runner process ended (exit -9)")
        f = self.ratio if side == "new" else 1.0
        return list(10 * f * (1 + self.rng.normal(0, self.noise, 5)))

    def close(self):
        pass



class Replay:
    """A block source replaying constructed blocks (``blocks[trial][round][side]``)."""

    def __init__(self, blocks):
        self.blocks, self.trial, self.i = blocks, -1, {"base": 0, "new": 0}

    def open(self, trial):
        self.trial, self.i = trial, {"base": 0, "new": 0}
        return {
            s: {"pid": 2 * trial + k, "numerics": {"ok": True}} for k, s in enumerate(runner.SIDES)
        }

    def block(self, side):
        r = self.i[side]
        self.i[side] += 1
        return self.blocks[self.trial][r][side]

    def close(self):
        pass



class Source:
    """Constructed blocks (NEW = ``ratio`` x BASE, small noise); each block ``block_s`` long on
    the injected clock; ``on_block(n)`` may raise at block n."""

    def __init__(self, clock, ratio=1.0, block_s=0.5, open_s=1.0, on_block=None, seed=3):
        self.clock, self.ratio, self.block_s, self.open_s = clock, ratio, block_s, open_s
        self.rng = np.random.default_rng(seed)
        self.on_block = on_block or (lambda n: None)
        self.blocks = self.opened = self.closed = 0

    def open(self, trial):
        self.opened += 1
        self.clock.t += self.open_s
        return {s: {"pid": 2 * trial + k, "numerics": {"ok": True}} for k, s in
                enumerate(runner.SIDES)}  # fmt: skip

    def block(self, side):
        self.blocks += 1
        self.on_block(self.blocks)
        self.clock.t += self.block_s
        f = self.ratio if side == "new" else 1.0
        return list(10 * f * (1 + self.rng.normal(0, 0.01, 5)))

    def close(self):
        self.closed += 1


class Clock:
    """An injected clock: each reading advances it by ``step``; a source may also move ``t``."""

    def __init__(self, step=0.1):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t
