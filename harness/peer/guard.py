"""What a hostile client can hold on the WHIP peer: connections, time, log lines.

aiohttp (3.14) has no deadline for a request's headers and keeps an idle connection for an hour, so
a client that sends one header byte every few seconds (slowloris) holds a file descriptor forever;
a few thousand of them exhaust the process's FDs, and then asyncio logs one ``EMFILE`` traceback
per accept attempt (261 MB of log in 80 s in ../shared/reference/reliability-probe.md §5).
:class:`ConnectionGuard` bounds that from outside aiohttp, through its low-level server's
``connection_made``/``connection_lost`` and each handler's ``force_close``:

* a connection must deliver a complete request's headers within ``header_timeout_s`` of opening,
  and the next one within ``idle_timeout_s`` of its last response;
* at most ``max_unauthenticated`` connections that never sent a valid token are kept: the oldest
  idle one is closed when another arrives.

:class:`RateLimitedLog` is the event loop's exception handler: one line per distinct error per
interval, then a count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

HEADER_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0
MAX_UNAUTHENTICATED = 128
SWEEP_S = 1.0


class GuardApiChanged(RuntimeError):
    """aiohttp's low-level server no longer has the hooks the guard wraps: re-check guard.py."""


@dataclass
class _Conn:
    opened: float
    last_done: float | None = None
    busy: int = 0
    authenticated: bool = False


class ConnectionGuard:
    def __init__(self, header_timeout_s: float = HEADER_TIMEOUT_S, idle_timeout_s: float = IDLE_TIMEOUT_S,
                 max_unauthenticated: int = MAX_UNAUTHENTICATED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.header_timeout_s, self.idle_timeout_s = header_timeout_s, idle_timeout_s
        self.max_unauthenticated = max_unauthenticated
        self.clock = clock
        self.conns: dict[Any, _Conn] = {}
        self.closed_slow = 0  # connections closed for a header or idle timeout
        self.evicted = 0  # unauthenticated connections closed to make room
        self._task: asyncio.Task[None] | None = None

    def install(self, server: Any) -> None:
        """Watch every connection of an aiohttp ``web.Server`` (``AppRunner.server``)."""
        made, lost = getattr(server, "connection_made", None), getattr(server, "connection_lost", None)
        if made is None or lost is None:
            raise GuardApiChanged("aiohttp's web.Server has no connection_made/connection_lost")

        def connection_made(handler: Any, transport: Any) -> None:
            made(handler, transport)
            self.opened(handler)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self.conns.pop(handler, None)
            lost(handler, exc)

        server.connection_made = connection_made
        server.connection_lost = connection_lost
        self._task = asyncio.ensure_future(self._sweep_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- events -----------------------------------------------------------------------------------

    def opened(self, handler: Any) -> None:
        self.conns[handler] = _Conn(self.clock())
        waiting = [(c.opened, h) for h, c in self.conns.items() if not c.authenticated and not c.busy]
        excess = sum(1 for c in self.conns.values() if not c.authenticated) - self.max_unauthenticated
        for _, h in sorted(waiting, key=lambda x: x[0])[:max(0, excess)]:
            self._close(h)
            self.evicted += 1

    def request_started(self, handler: Any, authenticated: bool) -> None:
        c = self.conns.get(handler)
        if c is not None:
            c.busy += 1
            c.authenticated = c.authenticated or authenticated

    def request_finished(self, handler: Any) -> None:
        c = self.conns.get(handler)
        if c is not None:
            c.busy = max(0, c.busy - 1)
            c.last_done = self.clock()

    # -- the sweep --------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Close connections past their deadline; how many were closed."""
        now = self.clock()
        late = [h for h, c in self.conns.items() if not c.busy and (
            now - c.opened > self.header_timeout_s if c.last_done is None
            else now - c.last_done > self.idle_timeout_s)]
        for h in late:
            self._close(h)
        self.closed_slow += len(late)
        return len(late)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            self.sweep()

    def _close(self, handler: Any) -> None:
        self.conns.pop(handler, None)
        force_close = getattr(handler, "force_close", None)
        if force_close is None:
            raise GuardApiChanged("aiohttp's RequestHandler has no force_close")
        force_close()


class RateLimitedLog:
    """An asyncio exception handler that writes one line per distinct error per ``interval_s``.

    Distinct: the same context message, exception type and errno. The first occurrence is written
    at once; repeats inside the interval are counted and reported with the next line of that kind.
    """

    MAX_KINDS = 256

    def __init__(self, interval_s: float = 60.0, stream: IO[str] | None = None,
                 clock: Callable[[], float] = time.monotonic, prefix: str = "harness peer") -> None:
        self.interval_s, self.clock, self.prefix = interval_s, clock, prefix
        self.stream = stream
        self.kinds: dict[tuple[str, str, Any], list[float | int]] = {}  # key -> [last written, suppressed]
        self.written = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message") or "")
        key = (message, type(exc).__name__ if exc is not None else "", getattr(exc, "errno", None))
        now = self.clock()
        seen = self.kinds.get(key)
        if seen is not None and now - seen[0] < self.interval_s:
            seen[1] += 1
            return
        suppressed = int(seen[1]) if seen is not None else 0
        if seen is None and len(self.kinds) >= self.MAX_KINDS:
            self.kinds.clear()
        self.kinds[key] = [now, 0]
        detail = f": {type(exc).__name__}: {_one_line(exc)}" if exc is not None else ""
        more = f" ({suppressed} more like this in the last {self.interval_s:.0f} s)" if suppressed else ""
        stream = self.stream or sys.stderr
        print(f"{self.prefix}: {message}{detail}{more}"[:2000], file=stream, flush=True)
        self.written += 1


class RateLimitedLogFilter(logging.Filter):
    """The same bound for a logger (aiohttp's ``aiohttp.server`` logs a traceback per malformed request):
    one record per distinct message and exception type per interval, without its traceback."""

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s, self.clock = interval_s, clock
        self.kinds: dict[tuple[str, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        key = (str(record.msg), type(exc).__name__ if exc is not None else "")
        now = self.clock()
        seen = self.kinds.get(key)
        if seen is not None and now - seen[0] < self.interval_s:
            seen[1] += 1
            return False
        if seen is None and len(self.kinds) >= RateLimitedLog.MAX_KINDS:
            self.kinds.clear()
        suppressed = int(seen[1]) if seen is not None else 0
        self.kinds[key] = [now, 0]
        if exc is not None:
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {_one_line(exc)}"
            record.args, record.exc_info, record.exc_text = (), None, None
        if suppressed:
            more = f"({suppressed} more like this in the last {self.interval_s:.0f} s)"
            record.msg = f"{record.getMessage()} {more}"
            record.args = ()
        return True


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
