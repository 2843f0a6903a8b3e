"""The lab clock: CLOCK_MONOTONIC in nanoseconds, shared by every process on the lab host."""

from __future__ import annotations

import time


def monotonic_ns() -> int:
    return time.monotonic_ns()


def wall_anchor() -> tuple[int, int]:
    """A (monotonic_ns, wall-clock ns since the epoch) pair read back to back.

    The pair with the smallest read window of a few tries is kept, so the mapping between the two
    clocks is good to a few microseconds.
    """
    best: tuple[int, int, int] | None = None
    for _ in range(5):
        a = time.monotonic_ns()
        w = time.time_ns()
        b = time.monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, (a + b) // 2, w)
    assert best is not None
    return best[1], best[2]
