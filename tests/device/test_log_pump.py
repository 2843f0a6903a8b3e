"""The device log off the audio path, against the virtual lab's os_trace relay (real pymobiledevice3
client and record parser): filtered, no debug level unless asked, every line to the raw file, only
matched lines on the timeline, and the pump on a thread of its own.

The volume comes from the virtual phone's log-volume knob (harness.sim.log_filler): synthetic
filler lines, marked as such. A real phone's volume and processes differ (real-iphone.md H6);
bench/device_log_load.py loads the pump during a live call.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from harness.device import Device, use_usbmuxd
from harness.device.os_trace import dut_log_filter
from harness.loop import LoopThread
from harness.sim.lab import LabConfig, PhoneSpec, VirtualLab
from harness.timeline import Timeline
from tests.device.test_device_on_virtual_lab import QUICK


async def _wait(cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_only_matched_lines_reach_the_timeline_and_every_line_the_raw_file(lab, dut, tmp_path):
    timeline = Timeline(tmp_path / "timeline.jsonl")
    raw = tmp_path / "device-log-raw.txt"
    async with await Device.open(dut.udid, timeline=timeline, timeouts=QUICK) as phone:
        stream = await phone.log_stream(dut_log_filter("VoiceAgent"), raw_path=raw)
        dut.log_filler.update({"lines_per_s": 2000, "processes": ["harness-sim-filler"] * 9 + ["audiomxd"]})
        dut.log("VoiceAgent", "HARNESS-EVENT interruption-began reason=call", subsystem="com.example.voice",
                category="harness")
        dut.log("mediaserverd", "a debug line nobody asked for", level="debug")
        dut.log("mediaserverd", "an info line", level="info")
        await _wait(lambda: stream.lines >= 2100)  # 2,000 filler lines and the few the test wrote
        dut.log_filler.update({"lines_per_s": 0})
        await asyncio.sleep(0.2)
        await stream.stop()
    lines = raw.read_text().splitlines()
    assert len(lines) == stream.lines >= 2100
    assert sum("SYNTHETIC FILLER" in line for line in lines) >= 2000
    assert any(" harness-sim-filler[" in line and "org.harness.sim.filler:filler" in line for line in lines)
    assert not any("debug line" in line for line in lines)  # the relay was not asked for debug
    assert any("an info line" in line and "<info>" in line for line in lines)
    events = timeline.events(source="device-log", kind="log") + timeline.events(source="device-log",
                                                                                kind="app-event")
    assert len(events) == stream.count < stream.lines / 5
    assert {e.fields["process"] for e in events} == {"audiomxd", "VoiceAgent", "mediaserverd"}
    assert timeline.first("app-event", source="device-log").fields["event"] == "interruption-began"
    stopped = timeline.last("stream-stopped", source="device-log")
    assert stopped.fields["lines"] == stream.lines and stopped.fields["entries"] == stream.count


async def test_debug_lines_come_only_when_asked(lab, dut, tmp_path):
    raw = tmp_path / "raw.txt"
    async with await Device.open(dut.udid, timeline=Timeline(), timeouts=QUICK) as phone:
        stream = await phone.log_stream(dut_log_filter(level="debug"), raw_path=raw)
        dut.log("mediaserverd", "a debug line", level="debug")
        await _wait(lambda: stream.lines >= 1)
        await stream.stop()
    assert "a debug line" in raw.read_text()


@pytest.fixture
def lab_on_its_own_loop(isolated) -> Iterator[VirtualLab]:
    """A virtual lab whose loop runs on its own thread (as the virtual lab runs in its own process), so
    it keeps sending while the test's loop is blocked."""
    with LoopThread(name="virtual-lab") as loop:
        lab = VirtualLab(LabConfig(phones=[PhoneSpec(name="DUT", ios="17.5.1", role="dut")],
                                   state_dir=isolated / "lab", extensions=()))
        loop.run(lab.start())
        use_usbmuxd(lab.usbmuxd_address)
        try:
            yield lab
        finally:
            lab.phone("DUT").log_filler.update({"lines_per_s": 0})
            loop.run(lab.stop())


async def _lines_while_the_loop_is_blocked(lab: VirtualLab, own_thread: bool) -> tuple[int, int, set[str]]:
    dut = lab.phone("DUT")
    threads: set[str] = set()
    async with await Device.open(dut.udid, timeline=Timeline(), timeouts=QUICK) as phone:
        stream = await phone.log_stream(dut_log_filter(), own_thread=own_thread)
        stream.on_event = lambda event: threads.add(threading.current_thread().name)
        dut.log_filler.update({"lines_per_s": 2000, "processes": ["harness-sim-filler"] * 9 + ["audiomxd"]})
        await _wait(lambda: stream.count >= 20)
        before = stream.lines
        time.sleep(0.5)  # this loop is blocked, as a stalled caller would be
        after = stream.lines
        dut.log_filler.update({"lines_per_s": 0})
        await stream.stop()
    return before, after, threads


async def test_the_pump_runs_on_its_own_thread_not_the_callers_loop(lab_on_its_own_loop):
    before, after, threads = await _lines_while_the_loop_is_blocked(lab_on_its_own_loop, own_thread=True)
    assert after - before > 300, (before, after)  # ~1,000 lines pumped while this loop could not
    assert len(threads) == 1 and threads.pop().startswith("device-log:")
    before, after, threads = await _lines_while_the_loop_is_blocked(lab_on_its_own_loop, own_thread=False)
    assert after == before  # the benchmark's "before": on the caller's loop, nothing moves
    assert threads == {threading.current_thread().name}


async def test_left_alone_the_volume_follows_the_phones_log_volume_variant(lab, dut, tmp_path):
    """The knob untouched, a phone streams its ``log_volume`` variant's rate (the profile's table: idle,
    a call, Siri), so every virtual lab run loads the log path as a real phone would (RIP H6).

    The rate is read from the lines themselves (their phone time and filler counter, which starts
    again at each new rate), not from how fast this process pumped them: on a loaded host the pump
    may lag the phone, and the phone's rate is what is under test."""
    assert dut.log_filler.follows_variant and dut.log_rate() > 0
    raw = tmp_path / "raw.txt"
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        stream = await phone.log_stream(dut_log_filter(None), timeline=Timeline(), raw_path=raw)
        await _wait(lambda: stream.lines > 0)
        await asyncio.sleep(2.0)
        dut.log_activity.add("call")
        await asyncio.sleep(2.0)
        dut.log_activity.discard("call")
        await _wait(lambda: len(_filler_segments(raw)) >= 3, timeout=30)  # idle, call, idle again
        await stream.stop()
    idle, in_call = (_rate(segment) for segment in _filler_segments(raw)[:2])
    rates = dut.profile.log_volume[dut.variants["log_volume"]]
    assert 0.8 * rates["idle"] < idle < 1.2 * rates["idle"], (idle, rates)
    assert 0.8 * rates["call"] < in_call < 1.2 * rates["call"], (in_call, rates)


FILLER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) .* SYNTHETIC FILLER (\d+) ")


def _filler_segments(raw: Path) -> list[list[tuple[datetime, int]]]:
    """The raw log's filler lines as (phone time, counter), split where the counter starts again."""
    segments: list[list[tuple[datetime, int]]] = []
    text = raw.read_text(encoding="utf-8") if raw.exists() else ""
    for line in text.splitlines():
        m = FILLER_LINE.match(line)
        if m is None:
            continue
        at, n = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f"), int(m.group(2))
        if not segments or n <= segments[-1][-1][1]:
            segments.append([])
        segments[-1].append((at, n))
    return segments


def _rate(segment: list[tuple[datetime, int]]) -> float:
    """Lines per second the phone wrote over a segment: counter over phone time."""
    (t0, n0), (t1, n1) = segment[0], segment[-1]
    seconds = (t1 - t0).total_seconds()
    assert seconds >= 1.0, f"a segment of {seconds} s is too short to measure"
    return (n1 - n0) / seconds
