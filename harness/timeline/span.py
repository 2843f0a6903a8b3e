from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """An interval on the lab clock (ns)."""

    start_ns: int
    end_ns: int

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    def overlap_s(self, start_ns: int, end_ns: int) -> float:
        return max(0, min(self.end_ns, end_ns) - max(self.start_ns, start_ns)) / 1e9
