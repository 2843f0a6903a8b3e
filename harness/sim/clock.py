"""A phone's own wall clock: offset, drift and time zone relative to the lab host.

A real iPhone stamps its log lines with its own clock, which is neither the lab host's wall clock
nor its monotonic clock. The virtual phone reproduces that so the harness's clock mapping is
exercised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass
class PhoneClock:
    offset_s: float = 0.0
    """How far the phone's wall clock is ahead of the host's at ``epoch_mono_ns``."""
    drift_ppm: float = 0.0
    """How fast it runs relative to the host (positive: faster)."""
    utc_offset_min: int = 0
    """The phone's time zone, minutes east of UTC (log timestamps are naive local times)."""
    epoch_mono_ns: int = 0

    def __post_init__(self) -> None:
        if not self.epoch_mono_ns:
            self.epoch_mono_ns = time.monotonic_ns()
        self._host_wall_at_epoch_ns = time.time_ns() - (time.monotonic_ns() - self.epoch_mono_ns)

    def phone_time_ns(self, mono_ns: int | None = None) -> int:
        """The phone's UTC wall clock (ns since the epoch) at lab monotonic time ``mono_ns``."""
        mono_ns = time.monotonic_ns() if mono_ns is None else mono_ns
        elapsed = mono_ns - self.epoch_mono_ns
        return int(self._host_wall_at_epoch_ns + self.offset_s * 1e9 + elapsed * (1 + self.drift_ppm * 1e-6))

    def local_datetime(self, mono_ns: int | None = None) -> datetime:
        """Naive local time as a phone's log line shows it."""
        utc = datetime.fromtimestamp(self.phone_time_ns(mono_ns) / 1e9, tz=UTC)
        return (utc + timedelta(minutes=self.utc_offset_min)).replace(tzinfo=None)
