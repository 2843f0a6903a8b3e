from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.timeline.clock import monotonic_ns, wall_anchor
from harness.timeline.event import Event

Listener = Callable[[Event], None]


class Timeline:
    """Append-only event log on the lab clock, mirrored to a JSON-lines file when ``path`` is set.

    Thread-safe: audio callbacks, asyncio tasks and pytest code may emit concurrently. Listeners
    are called synchronously after the event is on disk; they must be cheap.
    """

    def __init__(self, path: str | Path | None = None, clock: Callable[[], int] = monotonic_ns,
                 retain: bool = True) -> None:
        """``retain=False``: events go to the file and the listeners only, not to memory (a
        long-running writer such as the standalone peer, whose memory must stay flat)."""
        self._clock = clock
        self._retain = retain
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._listeners: list[Listener] = []
        self.path = Path(path) if path is not None else None
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        mono, wall = wall_anchor()
        self.emit("timeline", "clock-anchor", t_ns=mono, wall_ns=wall)

    # -- writing ---------------------------------------------------------------------------

    def now(self) -> int:
        return self._clock()

    def emit(self, source: str, kind: str, t_ns: int | None = None, **fields: Any) -> Event:
        event = Event(self._clock() if t_ns is None else int(t_ns), source, kind, fields)
        line = event.to_json() + "\n"
        with self._lock:
            if self._retain:
                self._events.append(event)
            if self._file is not None:
                self._file.write(line)
                self._file.flush()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def mark(self, name: str, **fields: Any) -> Event:
        """A named instant the harness will later ask about ("call-ended")."""
        return self.emit("mark", name, **fields)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> Timeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Timeline:
        """A read-only timeline over a file written by another (possibly killed) process."""
        tl = cls.__new__(cls)
        tl._clock = monotonic_ns
        tl._retain = True
        tl._lock = threading.Lock()
        tl._listeners = []
        tl.path = Path(path)
        tl._file = None
        tl._events = sorted(read_events(path), key=lambda e: e.t_ns)
        return tl

    @property
    def all(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def events(
        self,
        source: str | None = None,
        kind: str | None = None,
        start: Event | int | None = None,
        end: Event | int | None = None,
    ) -> list[Event]:
        lo = _ns(start) if start is not None else None
        hi = _ns(end) if end is not None else None
        return [
            e
            for e in self.all
            if (source is None or e.source == source)
            and (kind is None or e.kind == kind)
            and (lo is None or e.t_ns >= lo)
            and (hi is None or e.t_ns <= hi)
        ]

    def between(self, start: Event | int, end: Event | int, **filters: Any) -> list[Event]:
        return self.events(start=start, end=end, **filters)

    def first(self, kind: str, source: str | None = None, after: Event | int | None = None) -> Event | None:
        """The first event of ``kind`` at or after ``after`` (a mark or a time), or None."""
        for e in sorted(self.events(source=source, kind=kind, start=after), key=lambda e: e.t_ns):
            return e
        return None

    def last(self, kind: str, source: str | None = None, before: Event | int | None = None) -> Event | None:
        found = self.events(source=source, kind=kind, end=before)
        return max(found, key=lambda e: e.t_ns) if found else None

    def wall_anchor(self) -> tuple[int, int] | None:
        """(monotonic_ns, wall ns) recorded when the timeline was opened."""
        e = self.first("clock-anchor", source="timeline")
        return (e.t_ns, int(e.fields["wall_ns"])) if e else None


def read_events(path: str | Path) -> Iterable[Event]:
    """Every complete event in a timeline file; a torn last line (writer killed mid-write) is skipped."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            line = line.strip()
            if not line:
                continue
            try:
                yield Event.from_json(line)
            except (ValueError, KeyError):
                continue


def _ns(x: Event | int) -> int:
    return x.t_ns if isinstance(x, Event) else int(x)
