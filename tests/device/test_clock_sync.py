"""The clock mapping as pure logic: midpoint samples, drift fit, step detection, timestamp decoding."""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import time

import pytest

from harness.device.clock_sync import (
    ClockMapper,
    ClockSample,
    ClockTracker,
    best_of_burst,
    fit,
    phone_ns_from_datetime,
    phone_ns_from_epoch_s,
)
from harness.timeline import Timeline

EPOCH = 1_795_000_000 * 10**9  # a 2026 wall-clock time in ns


class FakePhone:
    """A phone clock ``offset`` ns ahead of lab time plus ``drift_ppm``, read over a link whose
    two directions take random (asymmetric) times."""

    def __init__(self, offset_ns: float, drift_ppm: float, seed: int = 1) -> None:
        self.offset_ns = offset_ns
        self.drift_ppm = drift_ppm
        self.rng = random.Random(seed)
        self.lab_ns = 10**12

    def phone_at(self, lab_ns: int) -> int:
        return round(EPOCH + lab_ns + self.offset_ns + self.drift_ppm * 1e-6 * lab_ns)

    def read(self) -> ClockSample:
        send = self.lab_ns
        there = self.rng.uniform(0.1e6, 3e6)  # 0.1..3 ms each way, independently
        back = self.rng.uniform(0.1e6, 3e6)
        phone = self.phone_at(round(send + there))
        self.lab_ns = round(send + there + back)
        return ClockSample(send, phone, self.lab_ns)

    def burst(self, n: int = 8) -> list[ClockSample]:
        return [self.read() for _ in range(n)]


def test_the_fastest_round_trip_is_kept():
    samples = [ClockSample(0, 5, 10), ClockSample(20, 24, 26), ClockSample(30, 40, 50)]
    assert best_of_burst(samples) == samples[1]
    assert samples[1].lab_mid_ns == 23 and samples[1].offset_ns == 1


def test_midpoint_error_is_bounded_by_half_the_round_trip():
    phone = FakePhone(offset_ns=3.2e9, drift_ppm=0.0)
    model = fit([best_of_burst(phone.burst())])
    truth_lab = phone.lab_ns + 5_000_000
    mapped = model.to_lab_ns(phone.phone_at(truth_lab))
    assert abs(mapped - truth_lab) <= model.uncertainty_ns + 1
    assert model.uncertainty_ns < 3e6


def test_drift_is_fitted_and_followed():
    phone = FakePhone(offset_ns=3.2e9, drift_ppm=500.0, seed=7)
    mapper = ClockMapper(min_span_ns=2 * 10**9)
    for _ in range(10):
        mapper.add_burst(phone.burst())
        phone.lab_ns += 10**9  # a burst a second
    model = mapper.model
    assert model is not None
    assert model.drift_ppm == pytest.approx(500.0, abs=50.0)
    # 3 s past the last burst the mapping still holds within a few ms (without drift: 1.5 ms more).
    later = phone.lab_ns + 3 * 10**9
    assert abs(model.to_lab_ns(phone.phone_at(later)) - later) < 1.5e6


def test_no_drift_is_guessed_from_a_short_span():
    phone = FakePhone(offset_ns=-1e9, drift_ppm=80.0)
    mapper = ClockMapper(min_span_ns=2 * 10**9)
    mapper.add_burst(phone.burst())
    model, _ = mapper.add_burst(phone.burst())
    assert model.drift_ppm == 0.0


def test_a_stepped_phone_clock_restarts_the_fit():
    phone = FakePhone(offset_ns=0.0, drift_ppm=0.0)
    mapper = ClockMapper()
    mapper.add_burst(phone.burst())
    phone.offset_ns += 2e9  # NTP set the phone's clock 2 s forward
    model, stepped = mapper.add_burst(phone.burst())
    assert stepped and mapper.steps == 1 and model.samples == 1
    assert abs(model.offset_at(phone.lab_ns) - (EPOCH + 2e9)) < 3e6


def test_model_round_trips_between_clocks():
    phone = FakePhone(offset_ns=3.2e9, drift_ppm=-120.0)
    mapper = ClockMapper(min_span_ns=1)
    for _ in range(4):
        mapper.add_burst(phone.burst())
        phone.lab_ns += 5 * 10**8
    model = mapper.model
    for lab in (phone.lab_ns - 10**9, phone.lab_ns, phone.lab_ns + 10**10):
        assert abs(model.to_lab_ns(model.to_phone_ns(lab)) - lab) <= 1


def test_epoch_seconds_round_to_the_microsecond():
    assert phone_ns_from_epoch_s(1_795_000_000.1234567) == 1_795_000_000_123_457_000


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_os_trace_timestamps_decode_in_any_host_zone(zone, monkeypatch):
    """pymobiledevice3 builds a naive host-local datetime; decoding it gives back the epoch, also in
    the repeated hour of a DST change (New York, 2026-11-01 01:30)."""
    if not os.path.exists(f"/usr/share/zoneinfo/{zone}"):
        pytest.fail(f"time zone data for {zone} is missing (install tzdata)")
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for epoch_us in (1_793_511_000_250_000, 1_793_514_600_999_999, 1_795_000_000_000_001):
            stamp = datetime.datetime.fromtimestamp(epoch_us / 1e6)
            assert phone_ns_from_datetime(stamp) == epoch_us * 1000
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


async def test_tracker_states_the_mapping_on_the_timeline():
    phone = FakePhone(offset_ns=3.2e9, drift_ppm=0.0)
    lab_now = [0]

    def lab_clock() -> int:
        return lab_now[0]

    async def read_clock() -> float:
        sample = phone.read()
        lab_now[0] = sample.lab_recv_ns
        return sample.phone_ns / 1e9

    phone.lab_ns = 10**12
    lab_now[0] = phone.lab_ns
    timeline = Timeline()
    tracker = ClockTracker(read_clock, udid="X", timeline=timeline, clock=lab_clock)
    model = await tracker.sync()
    event = timeline.last("clock-offset", source="device-clock")
    assert event is not None and event.fields["udid"] == "X" and event.fields["bursts"] == 1
    assert event.fields["uncertainty_ms"] == pytest.approx(model.uncertainty_ns / 1e6, abs=1e-3)
    assert abs(event.fields["offset_ns"] - (EPOCH + 3.2e9)) < 3e6
    assert "midpoint" in event.fields["method"]


async def test_a_slow_burst_reads_on_until_a_fast_round_trip():
    rtts = iter([9e6] * 11 + [0.5e6] + [9e6] * 40)
    lab_now = [10**12]

    async def read_clock() -> float:
        lab_now[0] += round(next(rtts))
        return (EPOCH + lab_now[0]) / 1e9

    tracker = ClockTracker(read_clock, clock=lambda: lab_now[0], burst=8, max_burst=32, good_rtt_ns=2_000_000)
    model = await tracker.sync()
    assert model.uncertainty_ns == pytest.approx(0.25e6, abs=1e3)  # the 12th read, not the best of 8


async def test_tracking_runs_until_its_last_user_stops():
    reads = []

    async def read_clock() -> float:
        reads.append(1)
        return EPOCH / 1e9

    tracker = ClockTracker(read_clock, burst=1, interval_s=0.01)
    tracker.start()
    tracker.start()
    await tracker.stop()
    count = len(reads)
    for _ in range(100):  # still tracking for the second user
        if len(reads) > count:
            break
        await asyncio.sleep(0.01)
    assert len(reads) > count
    await tracker.stop()
    assert tracker._task is None
