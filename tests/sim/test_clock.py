"""A phone's log timestamps come from its own clock: offset, drift and time zone."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.os_trace import OsTraceService
from pymobiledevice3.services.syslog import SyslogService

from harness.sim.clock import PhoneClock
from harness.timeline import wall_anchor
from tests.sim.relay_wait import until_listening

AHEAD_S, DRIFT_PPM, TZ_MIN = 3.2, 250.0, 330  # 3.2 s ahead, fast crystal, India (UTC+5:30)
SINCE_EPOCH_S = 200.0  # the clock was set 200 s ago: drift adds 50 ms since


def _skewed_clock() -> PhoneClock:
    return PhoneClock(
        AHEAD_S, DRIFT_PPM, TZ_MIN, epoch_mono_ns=time.monotonic_ns() - int(SINCE_EPOCH_S * 1e9)
    )


async def test_os_trace_timestamps_follow_the_phone_clock(lab, dut):
    dut.clock = _skewed_clock()
    mono, wall = wall_anchor()
    t_events = [mono - 50_000_000, mono, mono + 30_000_000]
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        listening = dut.log_listener_count
        stream = OsTraceService(lockdown).syslog()
        first = asyncio.ensure_future(stream.__anext__())
        await until_listening(dut, listening)
        for i, t in enumerate(t_events):
            dut.log("VoiceApp", f"HARNESS-EVENT tick n={i}", t_ns=t)
        entries = [await asyncio.wait_for(first, 10)]
        for _ in t_events[1:]:
            entries.append(await asyncio.wait_for(stream.__anext__(), 10))
        await stream.aclose()
    for t, entry in zip(t_events, entries, strict=True):
        phone_epoch = (
            entry.timestamp.timestamp()
        )  # naive local time of this host, as pymobiledevice3 builds it
        host_epoch = (wall + (t - mono)) / 1e9
        ahead = phone_epoch - host_epoch
        expected = AHEAD_S + (SINCE_EPOCH_S + (t - mono) / 1e9) * DRIFT_PPM * 1e-6
        assert abs(ahead - expected) < 0.002, (ahead, expected)
    # mach time is the phone's monotonic clock: its spacing is lab spacing stretched by the drift
    spacing = (entries[2].mach_timestamp - entries[0].mach_timestamp) / 24e6
    assert abs(spacing - 0.080 * (1 + DRIFT_PPM * 1e-6)) < 1e-6


async def test_syslog_lines_show_the_phone_local_time(lab, dut):
    dut.clock = _skewed_clock()
    async with await create_using_usbmux(serial=dut.udid) as lockdown, SyslogService(lockdown) as syslog:
        listening = dut.log_listener_count
        lines = syslog.watch()
        first = asyncio.ensure_future(lines.__anext__())
        await until_listening(dut, listening)
        t = time.monotonic_ns()
        dut.log("SpringBoard", "one", t_ns=t)
        dut.log("SpringBoard", "two", t_ns=t)
        line = await asyncio.wait_for(first, 10)
        await lines.aclose()
    shown = datetime.strptime(line[:15], "%b %d %H:%M:%S")
    local = dut.clock.local_datetime(t)
    assert (shown.hour, shown.minute, shown.second) == (local.hour, local.minute, local.second)
    utc_now = datetime.utcfromtimestamp(dut.clock.phone_time_ns(t) / 1e9)
    assert (local - utc_now).total_seconds() == TZ_MIN * 60


async def test_lockdown_reports_the_phone_time_and_zone(lab, dut):
    dut.clock = _skewed_clock()
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        values = lockdown.all_values
    assert values["TimeZone"] == "GMT+05:30" and values["TimeZoneOffsetFromUTC"] == TZ_MIN * 60
    assert (
        abs(values["TimeIntervalSince1970"] - time.time() - AHEAD_S - SINCE_EPOCH_S * DRIFT_PPM * 1e-6) < 1.0
    )
