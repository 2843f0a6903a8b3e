"""Device names to sounddevice indexes, PortAudio re-scans, and PortAudio's clock."""

from __future__ import annotations

import pytest

from harness.audio import devices
from harness.audio.player import Player
from harness.audio.pulse import PulseServer
from harness.errors import LabFault, UsageError


def test_a_sink_added_at_run_time_becomes_visible_to_sounddevice_by_name(pulse: PulseServer) -> None:
    import sounddevice as sd

    first = pulse.add_sink("dut_receiver")
    devices.rescan()
    assert sd.query_devices(devices.find_device(first.monitor, "input"))["name"] == "dut_receiver_monitor"
    later = pulse.add_sink("dut_speaker")  # PortAudio was initialised before this sink existed
    assert "dut_speaker" not in [d["name"] for d in devices.list_devices()]
    index = devices.find_device(later.monitor, "input")  # a miss re-scans once
    assert sd.query_devices(index)["name"] == "dut_speaker_monitor"
    assert sd.query_devices(devices.find_device("dut_speaker", "output"))["name"] == "dut_speaker"


def test_rescan_goes_through_sounddevice_terminate_and_initialize(pulse: PulseServer) -> None:
    import sounddevice as sd

    depth = sd._initialized
    pulse.add_sink("lab_mouth")
    devices.rescan()
    assert sd._initialized == depth  # PortAudio's init count is back where it was
    assert "lab_mouth_monitor" in [d["name"] for d in devices.list_devices("input")]


def test_rescan_is_refused_while_a_stream_is_open(pulse: PulseServer) -> None:
    sink = pulse.add_sink("lab_mouth")
    with Player(sink.device):
        assert devices.open_streams() == 1
        with pytest.raises(LabFault, match="while 1 stream"):
            devices.rescan()
    assert devices.open_streams() == 0


def test_a_missing_device_name_is_a_usage_error_naming_it_and_the_fix(pulse: PulseServer) -> None:
    pulse.add_sink("dut_receiver")
    with pytest.raises(UsageError) as err:
        devices.find_device("dut_bt_hfp_monitor", "input")
    text = str(err.value)
    assert "'dut_bt_hfp_monitor'" in text and "dut_receiver_monitor" in text and "lab file" in text


def test_an_ambiguous_partial_name_is_refused(pulse: PulseServer) -> None:
    pulse.add_sink("dut_receiver")
    pulse.add_sink("dut_speaker")
    with pytest.raises(UsageError, match="ambiguous"):
        devices.find_device("_monitor", "input")
    full = devices.find_device("dut_receiver_monitor", "input")
    assert devices.find_device("receiver_mon", "input") == full


def test_stream_clock_keeps_the_least_delayed_reading() -> None:
    clock = devices.StreamClock()
    clock.update(100.0, 5_000_000_000)  # offset = -95 s
    clock.update(100.010, 5_010_300_000)  # read 0.3 ms late: ignored
    clock.update(100.020, 5_019_900_000)  # 0.1 ms earlier than the first: kept
    assert clock.offset_ns == 5_019_900_000 - 100_020_000_000
    assert clock.to_ns(101.0) == 101_000_000_000 + clock.offset_ns


def test_stream_clock_follows_a_wall_clock_step_but_not_a_late_callback() -> None:
    clock = devices.StreamClock(step_s=0.05, settle=10)
    clock.update(100.0, 0)
    clock.update(100.01, 10_000_000 + 80_000_000)  # one callback 80 ms late
    clock.update(100.02, 20_000_000)
    assert clock.offset_ns == -100_000_000_000
    for i in range(10):  # wall clock stepped back by 1 s: stream time is 1 s lower from now on
        clock.update(99.03 + i * 0.01, 30_000_000 + i * 10_000_000)
    assert clock.offset_ns == -99_000_000_000
