"""Constructed block sources for `edgevid ab`'s coordinator (``run.ab.run_ab``) and an injected
clock: the tests drive the method with them and assert its properties, never this machine's
speed. They stand in for two runner processes; the real ones are exercised by the CLI tests."""

from __future__ import annotations

import numpy as np

from edgevid.run import ab as runner


class Constructed:
    """Constructed blocks (NEW = ``ratio`` x BASE, noise ``noise``), counting process starts and
    the sides asked (``calls``) like the real source. With a ``clock``, a start moves it
    ``open_s`` and a block ``block_s``; ``on_block(n)`` may raise at block n (``lost_after``)."""

    def __init__(self, ratio=1.0, noise=0.01, seed=3, clock=None, block_s=0.5, open_s=1.0,
                 on_block=None):  # fmt: skip
        self.rng = np.random.default_rng(seed)
        self.ratio, self.noise, self.clock = ratio, noise, clock
        self.block_s, self.open_s = block_s, open_s
        self.on_block = on_block or (lambda n: None)
        self.calls: list = []
        self.opened = self.closed = 0

    def open(self, trial):
        self.opened += 1
        if self.clock is not None:
            self.clock.t += self.open_s
        return {s: {"pid": 2 * self.opened + k, "numerics": {"ok": True}} for k, s in
                enumerate(runner.SIDES)}  # fmt: skip

    def block(self, side):
        self.calls.append(side)
        self.on_block(len(self.calls))
        if self.clock is not None:
            self.clock.t += self.block_s
        f = self.ratio if side == "new" else 1.0
        return list(10 * f * (1 + self.rng.normal(0, self.noise, 5)))

    def close(self):
        self.closed += 1


def lost_after(n: int):
    """An ``on_block`` whose NEW side dies after ``n`` blocks, as a killed runner would."""

    def on_block(k):
        if k > n:
            raise runner.SideFailed("new", "runner process ended (exit -9)")

    return on_block


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



class Clock:
    """An injected clock: each reading advances it by ``step``; a source may also move ``t``."""

    def __init__(self, step=0.1):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t
