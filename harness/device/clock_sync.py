"""The phone's wall clock mapped onto the lab's monotonic clock.

A phone stamps its log entries with its own wall clock: seconds since the epoch as the phone
believes them, which may be seconds off the lab host's, and runs at its own rate (crystal drift,
tens of ppm). The lab timeline runs on the host's monotonic clock. So the harness measures the
phone's clock directly: it asks lockdownd for ``TimeIntervalSince1970`` and notes the lab time just
before sending and just after the answer. The phone read its clock somewhere in between; taking
the midpoint errs by at most half the round trip, so of each burst of reads only the fastest
round trip is kept (the midpoint method, as in NTP). Bursts repeated over a run give a line
``phone = lab + offset + drift * (lab - t0)``, fitted by least squares, which tracks drift.

The phone's time zone plays no part: lockdownd and os_trace both carry seconds since the epoch
(pymobiledevice3 turns the latter into a naive datetime in the *host's* zone, which
:func:`phone_ns_from_datetime` undoes exactly).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from harness.timeline import Timeline, monotonic_ns, wall_anchor

STEP_THRESHOLD_NS = 50_000_000
"""A burst this far off the fitted line means the phone's clock was set (NTP step): start over."""


@dataclass(frozen=True)
class ClockSample:
    """One read of the phone's clock: lab time before sending, the phone's answer, lab time after."""

    lab_send_ns: int
    phone_ns: int
    lab_recv_ns: int

    @property
    def rtt_ns(self) -> int:
        return self.lab_recv_ns - self.lab_send_ns

    @property
    def lab_mid_ns(self) -> int:
        return (self.lab_send_ns + self.lab_recv_ns) // 2

    @property
    def offset_ns(self) -> int:
        """Phone wall clock minus lab monotonic clock at the midpoint."""
        return self.phone_ns - self.lab_mid_ns


@dataclass(frozen=True)
class ClockModel:
    """``phone_ns = lab_ns + offset_ns + drift_ppm * 1e-6 * (lab_ns - ref_lab_ns)``."""

    ref_lab_ns: int
    offset_ns: int
    """Phone epoch ns minus lab monotonic ns at ``ref_lab_ns`` (an int: a float this size loses 256 ns)."""
    drift_ppm: float
    uncertainty_ns: float
    """Half the best round trip plus the fit's residual: how far a mapped time may be off."""
    samples: int

    def to_phone_ns(self, lab_ns: int) -> int:
        return lab_ns + self.offset_ns + round(self.drift_ppm * 1e-6 * (lab_ns - self.ref_lab_ns))

    def to_lab_ns(self, phone_ns: int) -> int:
        # phone - offset - ref = (lab - ref) * (1 + d)
        since_ref = phone_ns - self.offset_ns - self.ref_lab_ns
        return self.ref_lab_ns + round(since_ref / (1 + self.drift_ppm * 1e-6))

    def offset_at(self, lab_ns: int) -> int:
        return self.to_phone_ns(lab_ns) - lab_ns


def best_of_burst(samples: Sequence[ClockSample]) -> ClockSample:
    """The read with the shortest round trip: its midpoint is the tightest bound on the phone's read."""
    if not samples:
        raise ValueError("a burst needs at least one clock sample")
    return min(samples, key=lambda s: s.rtt_ns)


def fit(points: Sequence[ClockSample], min_span_ns: int = 2_000_000_000) -> ClockModel:
    """Least-squares line through the bursts' best samples (offset against lab time).

    Drift is estimated only once the points span ``min_span_ns``: over a shorter span the
    round-trip noise would dominate the slope.
    """
    if not points:
        raise ValueError("no clock samples to fit")
    xs = [p.lab_mid_ns for p in points]
    base = points[-1].offset_ns  # fit small residuals: epoch-sized floats would cost precision
    ys = [p.offset_ns - base for p in points]
    ref = xs[-1]
    n = len(points)
    span = max(xs) - min(xs)
    if n >= 2 and span >= min_span_ns:
        mx = sum(x - ref for x in xs) / n
        my = sum(ys) / n
        sxx = sum((x - ref - mx) ** 2 for x in xs)
        sxy = sum((x - ref - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
        slope = sxy / sxx
        offset = my - slope * mx  # at x = ref
    else:
        slope = 0.0
        # Without a slope, weight towards the fastest round trips.
        best = min(points, key=lambda p: p.rtt_ns)
        offset = float(best.offset_ns - base)
    residuals = [y - (offset + slope * (x - ref)) for x, y in zip(xs, ys, strict=True)]
    rms = math.sqrt(sum(r * r for r in residuals) / n)
    half_rtt = min(p.rtt_ns for p in points) / 2
    return ClockModel(ref, base + round(offset), slope * 1e6, half_rtt + rms, n)


class ClockMapper:
    """Keeps the recent bursts and the current model; detects a stepped phone clock."""

    def __init__(self, window: int = 12, min_span_ns: int = 2_000_000_000) -> None:
        self.points: deque[ClockSample] = deque(maxlen=window)
        self.min_span_ns = min_span_ns
        self.model: ClockModel | None = None
        self.steps = 0

    def add_burst(self, samples: Sequence[ClockSample]) -> tuple[ClockModel, bool]:
        """Add one burst; returns the new model and whether the phone's clock stepped."""
        best = best_of_burst(samples)
        stepped = False
        if self.model is not None:
            predicted = self.model.offset_at(best.lab_mid_ns)
            if abs(best.offset_ns - predicted) > STEP_THRESHOLD_NS + best.rtt_ns:
                self.points.clear()
                self.steps += 1
                stepped = True
        self.points.append(best)
        self.model = fit(list(self.points), self.min_span_ns)
        return self.model, stepped

    def to_lab_ns(self, phone_ns: int) -> int:
        if self.model is None:
            raise RuntimeError("the phone's clock has not been read yet; call ClockTracker.sync() first")
        return self.model.to_lab_ns(phone_ns)


def phone_ns_from_epoch_s(seconds: float) -> int:
    """lockdownd's ``TimeIntervalSince1970`` (a double) as integer ns, rounded to the microsecond."""
    return round(seconds * 1e6) * 1000


def phone_ns_from_datetime(stamp: datetime.datetime) -> int:
    """An os_trace entry's timestamp (naive, host-local, as pymobiledevice3 builds it) as epoch ns.

    pymobiledevice3 makes it with ``datetime.fromtimestamp(seconds)``, which sets ``fold`` in a
    repeated hour, so ``.timestamp()`` is its exact inverse; the phone's own zone never enters.
    """
    whole = int(stamp.replace(microsecond=0).timestamp())  # replace() keeps fold
    return whole * 1_000_000_000 + stamp.microsecond * 1000


ReadClock = Callable[[], Awaitable[float]]


class ClockTracker:
    """Reads the phone's clock in bursts, keeps the mapping, and states it on the timeline.

    ``read_clock`` returns the phone's ``TimeIntervalSince1970`` (see :func:`lockdown_clock`).
    Every burst emits ``device-clock / clock-offset`` with how far the phone is ahead of the lab
    host's wall clock (ms), the exact mapping offset (phone epoch ns minus lab monotonic ns), the
    drift (ppm), the uncertainty (ms) and the best round trip (ms); a stepped phone clock emits
    ``clock-step``.
    """

    def __init__(self, read_clock: ReadClock, *, udid: str = "", timeline: Timeline | None = None,
                 burst: int = 8, max_burst: int = 32, good_rtt_ns: int = 2_000_000, interval_s: float = 2.0,
                 mapper: ClockMapper | None = None,
                 clock: Callable[[], int] = monotonic_ns) -> None:
        self.read_clock = read_clock
        self.udid = udid
        self.timeline = timeline
        self.burst = burst
        self.max_burst = max_burst
        self.good_rtt_ns = good_rtt_ns
        self.interval_s = interval_s
        self.mapper = mapper or ClockMapper()
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._users = 0
        self.error: BaseException | None = None
        self._host_anchor = wall_anchor()  # (lab mono ns, host wall ns): to say how far off the phone is

    def ahead_of_host_ns(self, lab_ns: int) -> float:
        """How far the phone's wall clock is ahead of the lab host's wall clock at ``lab_ns``."""
        if self.model is None:
            raise RuntimeError("the phone's clock has not been read yet")
        mono, wall = self._host_anchor
        return self.model.to_phone_ns(lab_ns) - (wall + (lab_ns - mono))

    @property
    def model(self) -> ClockModel | None:
        return self.mapper.model

    def to_lab_ns(self, phone_ns: int) -> int:
        return self.mapper.to_lab_ns(phone_ns)

    async def sync(self) -> ClockModel:
        """One burst of reads; updates the model and reports it.

        A burst is ``burst`` reads, extended up to ``max_burst`` until one round trip is shorter than
        ``good_rtt_ns``: on a loaded host a few slow reads must not widen the error bound.
        """
        samples: list[ClockSample] = []
        while len(samples) < self.burst or (
                len(samples) < self.max_burst and min(s.rtt_ns for s in samples) > self.good_rtt_ns):
            send = self._clock()
            seconds = await self.read_clock()
            recv = self._clock()
            samples.append(ClockSample(send, phone_ns_from_epoch_s(seconds), recv))
        model, stepped = self.mapper.add_burst(samples)
        if self.timeline is not None:
            if stepped:
                self.timeline.emit("device-clock", "clock-step", udid=self.udid, steps=self.mapper.steps)
            best = best_of_burst(samples)
            self.timeline.emit(
                "device-clock", "clock-offset", t_ns=best.lab_mid_ns, udid=self.udid,
                ahead_of_host_ms=round(self.ahead_of_host_ns(best.lab_mid_ns) / 1e6, 3),
                offset_ns=round(model.offset_at(best.lab_mid_ns)),
                drift_ppm=round(model.drift_ppm, 2), uncertainty_ms=round(model.uncertainty_ns / 1e6, 3),
                rtt_ms=round(best.rtt_ns / 1e6, 3), bursts=model.samples,
                method="lockdown TimeIntervalSince1970, midpoint of the fastest of "
                       f"{len(samples)} round trips, least-squares drift",
            )
        return model

    def start(self) -> None:
        """Keep tracking in the background (every ``interval_s``) until the last user calls :meth:`stop`."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                await self.sync()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the device went away: keep the last model, report the cause
            self.error = exc
            if self.timeline is not None:
                self.timeline.emit("device-clock", "clock-tracking-stopped", udid=self.udid,
                                   error=f"{type(exc).__name__}: {exc}")

    async def stop(self, *, force: bool = False) -> None:
        """One user is done (every user with ``force``); tracking ends with the last."""
        self._users = 0 if force else max(0, self._users - 1)
        if self._users:
            return
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def lockdown_clock(lockdown: object) -> ReadClock:
    """A ``read_clock`` over a pymobiledevice3 lockdown client (GetValue TimeIntervalSince1970)."""

    async def read() -> float:
        value = await lockdown.get_value(key="TimeIntervalSince1970")  # type: ignore[attr-defined]
        if not isinstance(value, int | float):
            raise ValueError(f"lockdownd gave no TimeIntervalSince1970 (got {value!r})")
        return float(value)

    return read
