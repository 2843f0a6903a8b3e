"""The lab's PulseAudio server: start, sinks, environment, stop, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.audio.pulse import PulseServer
from harness.errors import LabFault, UsageError


def test_server_runs_in_its_scratch_dir_and_stop_ends_only_its_own_process(tmp_path: Path) -> None:
    before = dict(os.environ)
    server = PulseServer(tmp_path / "lab").start()
    try:
        assert server.running
        assert "Server Name: pulseaudio" in server.pactl("info")
        assert server.socket.exists()
        server.add_sink("dut_receiver")
        names = [s["name"] for s in server.pactl_json("list", "sinks")]
        assert names == ["dut_receiver"]  # -n: no default.pa, nothing but our sinks
        conf = server.alsa_config.read_text()
        assert 'pcm."dut_receiver_monitor"' in conf and 'device "dut_receiver.monitor"' in conf
        assert f'server "{server.server}"' in conf
        server.activate()
        assert os.environ["ALSA_CONFIG_PATH"].endswith(str(server.alsa_config))
        assert os.environ["PULSE_SERVER"] == server.server
    finally:
        pid = server.pid
        server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not server.running
    assert dict(os.environ) == before  # activate() is undone by stop()
    assert (tmp_path / "lab" / "pulseaudio.log").exists()  # a given scratch dir is kept for the logs


def test_owned_scratch_dir_is_removed_on_stop() -> None:
    with PulseServer() as server:
        scratch = server.scratch
        assert scratch.is_dir()
    assert not scratch.exists()


def test_sinks_are_added_and_removed_at_run_time(pulse: PulseServer) -> None:
    pulse.add_sink("caller_speaker", channels=1)
    pulse.add_sink("lab_mouth")
    assert {s["name"] for s in pulse.pactl_json("list", "sinks")} == {"caller_speaker", "lab_mouth"}
    pulse.remove_sink("caller_speaker")
    assert [s["name"] for s in pulse.pactl_json("list", "sinks")] == ["lab_mouth"]
    assert "caller_speaker" not in pulse.alsa_config.read_text()
    with pytest.raises(UsageError, match="caller_speaker"):
        pulse.remove_sink("caller_speaker")


def test_missing_pulseaudio_binary_is_a_lab_fault_naming_it_and_the_fix(tmp_path: Path) -> None:
    server = PulseServer(tmp_path / "lab", binary="pulseaudio-not-installed")
    fix = r"pulseaudio-not-installed.*install the Debian packages pulseaudio"
    with pytest.raises(LabFault, match=fix) as err:
        server.start()
    assert err.value.tag == "pulseaudio-missing"
    assert server.pid is None


def test_a_server_that_dies_at_start_is_a_lab_fault_with_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "pulseaudio"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'E: [pulseaudio] main.c: no way' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(LabFault, match=r"exited at start.*no way"):
        PulseServer(tmp_path / "lab", binary=str(fake)).start()


def test_unusable_sink_names_are_usage_errors(pulse: PulseServer) -> None:
    for bad in ("dut receiver", "dut.receiver", "", 'x"y'):
        with pytest.raises(UsageError, match="not usable as an audio device name"):
            pulse.add_sink(bad)


def test_pactl_against_a_stopped_server_is_a_lab_fault(tmp_path: Path) -> None:
    server = PulseServer(tmp_path / "lab").start()
    server.stop()
    with pytest.raises(LabFault, match="not running"):
        server.add_sink("late")
