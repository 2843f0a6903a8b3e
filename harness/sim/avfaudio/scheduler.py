"""The clock and timer the audio world runs on, injectable so the world stays a pure state machine.

Tests use :class:`ManualScheduler` (time moves only when told). The async lab passes
:class:`LoopScheduler` around its event loop (anything with ``call_later(delay, fn)``), so delayed
notifications fire on the lab's loop without this package importing asyncio.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Any, Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def now_ns(self) -> int: ...

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Handle: ...


class _ManualHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """Deterministic virtual time: callbacks run in (due time, scheduling order) on :meth:`advance`."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._queue: list[tuple[int, int, Callable[[], None], _ManualHandle]] = []
        self._seq = 0

    def now_ns(self) -> int:
        return self._now

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> _ManualHandle:
        if delay_s < 0:
            raise ValueError(f"cannot schedule {delay_s} s in the past")
        handle = _ManualHandle()
        self._seq += 1
        heapq.heappush(self._queue, (self._now + round(delay_s * 1e9), self._seq, fn, handle))
        return handle

    def advance(self, seconds: float) -> None:
        """Move time forward, running every callback that falls due (including ones they schedule)."""
        end = self._now + round(seconds * 1e9)
        while self._queue and self._queue[0][0] <= end:
            due, _, fn, handle = heapq.heappop(self._queue)
            self._now = max(self._now, due)
            if not handle.cancelled:
                fn()
        self._now = end

    def pending(self) -> int:
        return sum(1 for *_, h in self._queue if not h.cancelled)


class LoopScheduler:
    """Adapts an event loop (``loop.call_later``) and the lab's monotonic clock to :class:`Scheduler`."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Handle:
        return self._loop.call_later(delay_s, fn)
