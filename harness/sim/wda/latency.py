"""How long the virtual WDA takes to answer a find or a page source: seeded draws from the variant's
distribution (``wda_latency`` in ``harness/sim/profiles/variants.yaml``).

A real WDA answers a find after XCTest has taken a snapshot of the app: 0.1 s to seconds (RIP §5
item 10). A log-normal around the value's median, clipped to its [min, max], seeded per phone so
a run can be repeated.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from harness.sim import variants

SIGMA = 0.6
"""Spread of the log-normal (inference: a long tail of slow snapshots, most answers near the median)."""


@dataclass
class Latency:
    find: tuple[float, float, float]
    source: tuple[float, float, float]
    rng: random.Random

    @classmethod
    def for_value(cls, value: str, seed: int) -> Latency:
        p = variants.params("wda_latency", value)
        return cls(
            tuple(map(float, p["find"])),
            tuple(map(float, p["source"])),  # type: ignore[arg-type]
            random.Random(seed),
        )

    def _draw(self, spec: tuple[float, float, float]) -> float:
        median, low, high = spec
        if median <= 0:
            return 0.0
        return min(high, max(low, math.exp(self.rng.gauss(math.log(median), SIGMA))))

    def for_find(self) -> float:
        return self._draw(self.find)

    def for_source(self) -> float:
        return self._draw(self.source)
