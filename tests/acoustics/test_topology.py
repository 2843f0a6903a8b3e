"""The virtual lab's acoustics: sinks per route per phone, the mouth, and route switches."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from harness.audio.capture import CaptureSet, read_capture
from harness.audio.player import Player, play_probe
from harness.audio.probe import MOUTH_SEED, probe
from harness.audio.pulse import PulseServer
from harness.errors import UsageError
from harness.sim.acoustics import MOUTH, ROUTES, build_topology, tear_down
from harness.timeline import Timeline
from tests.acoustics.conftest import RATE, locate, seeded_noise


def test_one_sink_per_route_per_phone_and_one_for_the_mouth(pulse: PulseServer) -> None:
    topo = build_topology(pulse, {"dut": ROUTES, "caller": ("receiver", "speaker")})
    sinks = {s["name"] for s in pulse.pactl_json("list", "sinks")}
    assert sinks == {f"dut_{r}" for r in ROUTES} | {"caller_receiver", "caller_speaker", MOUTH}
    assert topo.output("dut", "bt_hfp") == "dut_bt_hfp"
    assert topo.microphone("caller") == "lab_mouth_monitor"
    assert topo.capture_map()["caller_speaker"] == "caller_speaker_monitor"
    assert len(topo.capture_map()) == len(ROUTES) + 2
    env = topo.process_env("dut", "speaker")
    assert env["HARNESS_SIM_OUTPUT_DEVICE"] == "dut_speaker" and env["PULSE_SERVER"] == pulse.server
    with pytest.raises(UsageError, match="no route 'wired'"):
        topo.output("caller", "wired")
    with pytest.raises(UsageError, match="unknown route 'earpiece'"):
        build_topology(pulse, {"x": ("earpiece",)})
    tear_down(topo)
    assert pulse.pactl_json("list", "sinks") == []


def test_the_mouth_probe_reaches_the_phone_microphone(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    topo = build_topology(pulse, {"dut": ("receiver",)})
    assert topo.mouth is not None
    mouth = play_probe(topo.mouth.sink, MOUTH_SEED, timeline=timeline, name="mouth")
    try:
        with CaptureSet({"mic": topo.microphone("dut")}, tmp_path, timeline=timeline,
                        sample_format="float32") as caps:
            t_start = timeline.last("play-started", source="player").t_ns
            cap = caps["mic"]
            while cap.frames < cap.frame_at(t_start) + 2 * RATE:
                time.sleep(0.05)
    finally:
        mouth.close()
    rec = read_capture(tmp_path / "mic.wav")
    # the mouth started before the capture: which probe sample does the capture hold at 1 s?
    f = RATE
    expected = round((rec.time_of(f) - t_start) * RATE / 1e9)
    ref = probe((expected + 2 * RATE) / RATE, MOUTH_SEED)
    found = locate(ref, rec.samples[f:f + 4800], around=expected, span=RATE // 2)
    assert abs(found - expected) < RATE * 0.005, f"off by {(found - expected) / RATE * 1e3:.1f} ms"
    n = min(len(rec.samples) - f, RATE)
    assert np.array_equal(rec.samples[f:f + n], ref[found:found + n])  # bit-exact through PulseAudio
    ev = timeline.last("play-started", source="player")
    assert ev.fields["seed"] == MOUTH_SEED


def test_a_route_switch_moves_the_audio_from_one_monitor_to_the_other(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    topo = build_topology(pulse, {"dut": ("receiver", "speaker")})
    sig = seeded_noise(4.0, seed=21)
    routes = topo.routes("dut")
    monitors = {r: d.monitor for r, d in routes.items()}
    with (
        Player(topo.output("dut", "receiver"), timeline=timeline) as downlink,
        CaptureSet(monitors, tmp_path, timeline=timeline, sample_format="float32") as caps,
    ):
        t_play = downlink.play(sig)
        time.sleep(1.5)
        t_switch = timeline.now()
        moved = topo.route_to("dut", "speaker", pid=os.getpid())
        t_moved = timeline.now()
        cap = caps["speaker"]
        while cap.frames < cap.frame_at(t_play) + len(sig) + RATE // 2:
            time.sleep(0.05)
    assert len(moved) == 1
    rx, spk = read_capture(tmp_path / "receiver.wav"), read_capture(tmp_path / "speaker.wav")
    a = locate(rx.samples, sig[:4800], around=rx.frame_at(t_play))
    n_rx = int(np.flatnonzero(rx.samples[a:a + len(sig)])[-1]) + 1  # signal samples played on the receiver
    assert RATE < n_rx < len(sig) - RATE  # the switch came mid-signal
    assert np.array_equal(rx.samples[a:a + n_rx], sig[:n_rx])
    assert not rx.samples[a + n_rx:].any()  # then nothing on the receiver
    b = int(np.flatnonzero(spk.samples)[0])  # the speaker was silent until the switch...
    k = locate(sig, spk.samples[b:b + 4800])  # ...and then plays the signal from index k on
    rest = spk.samples[b:b + len(sig) - k]
    assert np.array_equal(rest, sig[k:k + len(rest)])
    assert len(rest) == len(sig) - k
    # it continues where the receiver stopped, give or take what PulseAudio rewinds: measured from
    # 10 ms played on both to 7 ms lost (the reference measured -1 ms); route switches on phones
    # glitch too, the analyzer sees it as a skip or repeat of a few ms
    overlap_ms = (n_rx - k) / RATE * 1e3
    switch_ms = (rx.time_of(a + n_rx) - t_switch) / 1e6
    print(f"route switch: receiver stopped {switch_ms:.1f} ms after the move began (pactl took "
          f"{(t_moved - t_switch) / 1e6:.1f} ms); {overlap_ms:.1f} ms played on both; speaker started "
          f"{(spk.time_of(b) - rx.time_of(a + n_rx)) / 1e6:+.1f} ms from the receiver's end")
    assert abs(k - n_rx) <= RATE // 40  # 25 ms
    assert abs(spk.time_of(b) - rx.time_of(a + k)) < 30e6  # sample k plays when it would have
