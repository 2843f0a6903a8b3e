"""Real audio through a real PulseAudio: played into a sink, captured from its monitor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from harness.audio.capture import (
    Capture,
    CaptureSet,
    fit_rate,
    frame_at_time,
    read_capture,
    time_of_frame,
)
from harness.audio.player import Player
from harness.audio.pulse import PulseServer
from harness.errors import UsageError
from harness.timeline import Timeline, read_events
from tests.acoustics.conftest import RATE, locate, seeded_noise


def _wait_frames(cap: Capture, frames: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while cap.frames < frames:
        assert time.monotonic() < deadline, f"capture stuck at {cap.frames} frames"
        time.sleep(0.05)


def test_a_played_signal_is_captured_bit_exact_from_the_monitor(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    sink = pulse.add_sink("dut_receiver")
    sig = seeded_noise(6.0, seed=11)
    with (
        Player(sink.device, timeline=timeline) as player,  # opened before recording: warm-up
        Capture(sink.monitor, tmp_path / "rx.wav", timeline=timeline, sample_format="float32") as cap,
    ):
        cap.wait_started()
        t_play = player.play(sig)
        _wait_frames(cap, cap.frame_at(t_play) + len(sig) + RATE // 2)
    rec = read_capture(tmp_path / "rx.wav")
    assert rec.complete and rec.rate == RATE and rec.samples.ndim == 1
    start = locate(rec.samples, sig[:4800], around=rec.frame_at(t_play))
    got = rec.samples[start:start + len(sig)]
    assert len(got) == len(sig)
    assert np.array_equal(got, sig), f"{np.count_nonzero(got != sig)} samples differ"
    assert not rec.samples[:start].any()  # silence before the signal, nothing else
    # the same file through a plain WAV reader: the header was patched
    data, rate = sf.read(tmp_path / "rx.wav", dtype="float32")
    assert rate == RATE and len(data) == len(rec.samples)


def test_capture_time_maps_onto_the_timeline_clock(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path, record_property: object
) -> None:
    sink = pulse.add_sink("dut_speaker")
    bursts = [seeded_noise(0.05, seed=100 + k, level=0.3) for k in range(5)]
    marks = []
    with (
        Player(sink.device, timeline=timeline) as player,
        Capture(sink.monitor, tmp_path / "spk.wav", timeline=timeline) as cap,  # int16, the default
    ):
        cap.wait_started()
        for burst in bursts:
            marks.append(player.play(burst))
            time.sleep(0.7)
        _wait_frames(cap, cap.frame_at(marks[-1]) + RATE // 2)
    rec = read_capture(tmp_path / "spk.wav")
    # int16, the default: FLAC once closed
    assert rec.path == tmp_path / "spk.flac" and not (tmp_path / "spk.wav").exists()
    assert sf.info(rec.path).format == "FLAC" and rec.complete
    errors_ms = []
    for burst, t_mark in zip(bursts, marks, strict=True):
        found = locate(rec.samples, burst, around=rec.frame_at(t_mark), span=RATE // 4)
        errors_ms.append((rec.time_of(found) - t_mark) / 1e6)
    print(f"capture-time mapping error (capture - player mark), ms: {[round(e, 3) for e in errors_ms]}")
    record_property("capture_time_error_ms_max", max(abs(e) for e in errors_ms))
    assert max(abs(e) for e in errors_ms) < 5.0
    started = [e for e in read_events(tmp_path / "timeline.jsonl") if e.kind == "capture-started"]
    assert started and abs(started[0].t_ns - rec.t0_ns) < 100_000  # first anchor vs all anchors
    assert started[0].fields["clock"] == "adc"


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from harness.audio.capture import Capture
    from harness.audio.player import Player
    from harness.timeline import Timeline
    tl = Timeline(sys.argv[3])
    sig = (np.random.default_rng(7).standard_normal(48000 * 60) * 0.1).astype(np.float32)
    player = Player(sys.argv[1], timeline=tl).open()
    cap = Capture(sys.argv[1] + "_monitor", sys.argv[2], timeline=tl, sample_format="float32").open()
    cap.wait_started()
    player.play(sig)
    while cap.frames < cap.frame_at(tl.last("play-started").t_ns) + 3 * 48000:
        time.sleep(0.05)
    print("recording", cap.frames, flush=True)
    time.sleep(60)
""")


def test_a_capture_stays_readable_after_its_writer_is_killed(
    pulse: PulseServer, tmp_path: Path
) -> None:
    sink = pulse.add_sink("dut_receiver")
    wav, tl_path = tmp_path / "killed.wav", tmp_path / "child-timeline.jsonl"
    env = {**os.environ, **pulse.client_env()}
    child = subprocess.Popen([sys.executable, "-c", CHILD, sink.device, str(wav), str(tl_path)],
                             stdout=subprocess.PIPE, env=env, cwd=Path(__file__).parents[2])
    try:
        assert child.stdout is not None
        line = child.stdout.readline().decode()
        assert line.startswith("recording"), f"child said {line!r}"
        frames_then = int(line.split()[1])
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    rec = read_capture(wav)
    assert not rec.complete
    assert len(rec.samples) >= frames_then  # everything written before the kill is there
    sig = (np.random.default_rng(7).standard_normal(48000 * 60) * 0.1).astype(np.float32)
    start = locate(rec.samples, sig[:4800])
    got = rec.samples[start:]
    assert len(got) >= 3 * RATE
    assert np.array_equal(got, sig[:len(got)])
    data, _ = sf.read(wav, dtype="float32")  # a plain reader: all but the last header patch (<= 0.5 s)
    assert len(data) >= len(rec.samples) - RATE // 2
    kinds = [e.kind for e in read_events(tl_path)]
    assert "capture-started" in kinds and "play-started" in kinds
    assert rec.anchors and rec.time_of(0) == rec.t0_ns


def test_several_monitors_are_recorded_together(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    a, b = pulse.add_sink("dut_receiver"), pulse.add_sink("dut_speaker")
    monitors = {"receiver": a.monitor, "speaker": b.monitor}
    with (
        Player(a.device) as pa_,
        Player(b.device) as pb,
        CaptureSet(monitors, tmp_path / "caps", timeline=timeline) as caps,
    ):
        ta = pa_.play(seeded_noise(1.0, seed=1))
        tb = pb.play(seeded_noise(1.0, seed=2))
        _wait_frames(caps["speaker"], caps["speaker"].frame_at(tb) + RATE + RATE // 4)
        _wait_frames(caps["receiver"], caps["receiver"].frame_at(ta) + RATE + RATE // 4)
    rx, spk = (read_capture(tmp_path / "caps" / f"{n}.wav") for n in ("receiver", "speaker"))
    assert rx.channel_names == ["receiver"] and spk.channel_names == ["speaker"]
    # each monitor holds its own sink's signal only (int16 capture: within one LSB)
    for rec, seed, t in ((rx, 1, ta), (spk, 2, tb)):
        sig = seeded_noise(1.0, seed=seed)
        start = locate(rec.samples, sig[:4800], around=rec.frame_at(t))
        assert np.max(np.abs(rec.samples[start:start + len(sig)] - sig)) <= 1.5 / 32768
        assert abs(rec.time_of(start) - t) < 5e6


def test_reading_a_file_without_its_sidecar_is_a_usage_error(tmp_path: Path) -> None:
    wav = tmp_path / "lonely.wav"
    sf.write(wav, np.zeros(100, dtype=np.float32), RATE)
    with pytest.raises(UsageError, match=r"lonely.wav.*timing sidecar"):
        read_capture(wav)
    side = tmp_path / "lonely.wav.timing.jsonl"
    side.write_text(json.dumps({"kind": "anchor", "frame": 0, "t_ns": 1}) + "\n")
    with pytest.raises(UsageError, match="no header"):
        read_capture(wav)


def test_status_flags_of_the_input_stream_are_recorded_on_the_timeline(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    """PortAudio's overflow flag cannot be provoked on demand through PulseAudio (a 0.6 s stall of
    the callback thread was buffered without loss), so the flag is handed to the real callback of
    a real capture whose stream was stopped: the path from the callback to sidecar and timeline."""
    import sounddevice as sd

    sink = pulse.add_sink("dut_receiver")
    with Player(sink.device), Capture(sink.monitor, tmp_path / "st.wav", timeline=timeline) as cap:
        cap.wait_started()
        cap._stream.stop()  # no real callbacks from here on
        frame = cap._cb_frames
        when = SimpleNamespace(currentTime=time.time(), inputBufferAdcTime=time.time() - 0.001)
        cap._on_audio(bytes(960), 480, when, sd.CallbackFlags(sd._lib.paInputOverflow))
        _wait_frames(cap, frame + 480)
    events = [e for e in read_events(tmp_path / "timeline.jsonl") if e.kind == "capture-status"]
    assert len(events) == 1 and events[0].fields["flags"] == ["input_overflow"]
    assert events[0].fields["frame"] == frame
    assert abs(events[0].t_ns - cap.time_of(frame)) < 1000
    rec = read_capture(tmp_path / "st.wav")
    expected = {"kind": "status", "frame": frame, "t_ns": events[0].t_ns, "flags": ["input_overflow"]}
    assert rec.status == [expected]


def test_time_mapping_is_piecewise_so_a_dropout_shifts_only_what_follows() -> None:
    # 10 s at 48 kHz; 0.1 s of frames never arrived between frame 240000 and the anchor at 288000
    anchors = [(0, 1_000_000_000), (48000, 2_000_000_000), (288000, 7_100_000_000)]
    assert time_of_frame(anchors, RATE, 24000) == 1_500_000_000
    assert time_of_frame(anchors, RATE, 96000) == 3_000_000_000  # before the dropout: unshifted
    assert time_of_frame(anchors, RATE, 336000) == 8_100_000_000  # after it: shifted by 0.1 s
    assert frame_at_time(anchors, RATE, 8_100_000_000) == 336000
    assert frame_at_time(anchors, RATE, 3_000_000_000) == 96000


def test_a_long_capture_fits_the_device_rate_from_its_anchors() -> None:
    # an interface running 100 ppm fast: 48004.8 frames per lab second
    anchors = [(round(k * 48004.8), 5_000_000_000 + k * 1_000_000_000) for k in range(60)]
    assert abs(fit_rate(anchors, RATE) - 1e9 / 48004.8) < 1e-3
    assert abs(time_of_frame(anchors, RATE, 48004.8 * 59.5) - 64_500_000_000) < 20_000
    assert fit_rate(anchors[:10], RATE) == 1e9 / RATE  # short spans keep the nominal rate
