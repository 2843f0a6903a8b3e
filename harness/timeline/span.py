"""One interval type on the lab clock: a stretch of the call between two marks, where a probe was
heard in a capture, a dropout of the capture chain. Times are monotonic ns (harness.timeline)."""

from __future__ import annotations

from dataclasses import dataclass


def ns(seconds: float) -> int:
    """Seconds as a lab-clock duration in ns."""
    return round(seconds * 1e9)


@dataclass(frozen=True)
class Span:
    """An interval on the lab clock (ns), start included."""

    start_ns: int
    end_ns: int

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    def overlap_s(self, start_ns: int, end_ns: int) -> float:
        """Seconds of this span inside [start_ns, end_ns]."""
        return max(0, min(self.end_ns, end_ns) - max(self.start_ns, start_ns)) / 1e9

    def after(self, seconds: float) -> Span:
        """The part that starts ``seconds`` after this span's start (empty, not negative, if shorter)."""
        return Span(min(self.start_ns + ns(seconds), self.end_ns), self.end_ns)

    def trim(self, start_s: float = 0.0, end_s: float = 0.0) -> Span:
        """This span with ``start_s`` cut off its start and ``end_s`` off its end."""
        start = self.start_ns + ns(start_s)
        return Span(start, max(start, self.end_ns - ns(end_s)))

    @classmethod
    def before(cls, t_ns: int, seconds: float, margin_s: float = 0.3) -> Span:
        """The ``seconds`` up to ``margin_s`` before ``t_ns``."""
        return cls(t_ns - ns(seconds + margin_s), t_ns - ns(margin_s))

    @classmethod
    def starting(cls, t_ns: int, seconds: float) -> Span:
        """The ``seconds`` from ``t_ns`` on."""
        return cls(t_ns, t_ns + ns(seconds))
