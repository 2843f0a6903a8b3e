"""The capture chain in full: one multichannel stream per phone, split per route, and its reference
channel telling a dropout of the chain (a lab fault) from an app's gap."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from harness.audio.capture import read_capture, reference_gaps
from harness.audio.player import Player
from harness.audio.probe import DOWNLINK_SEED, probe
from harness.audio.pulse import PulseServer
from harness.audio.rig import AudioRig
from harness.errors import UsageError
from harness.lab.schema import Audio, Lab
from harness.sim.acoustics import AcousticsConfig, build_topology, tear_down
from harness.timeline import Timeline
from tests.acoustics.conftest import RATE


def _wait_recorded(rig: AudioRig, route: str, t_ns: int, timeout: float = 30.0) -> None:
    cap = rig.capture_for(route)
    assert cap is not None
    cap.wait_started(timeout)  # the rig returns once audio flows; the clock anchor follows
    deadline = time.monotonic() + timeout
    while cap.frames < cap.frame_at(t_ns):
        assert time.monotonic() < deadline, "capture stuck"
        time.sleep(0.05)


def test_an_app_gap_and_a_capture_dropout_are_told_apart_by_the_reference(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    topo = build_topology(pulse, {"dut": ("receiver", "speaker")}, config=AcousticsConfig())
    audio = Audio.model_validate(topo.audio_map("dut"))
    assert audio.capture["speaker"].channel == 1 and audio.reference is not None
    sig = probe(6.0, DOWNLINK_SEED)
    hole = slice(int(1.5 * RATE), int(1.8 * RATE))
    sig[hole] = 0  # the app's gap: 300 ms of nothing on its route
    with Player(topo.output("dut", "receiver"), timeline=timeline) as app:
        rig = AudioRig(audio, tmp_path / "audio", timeline=timeline).open()
        try:
            t_play = app.play(sig)
            time.sleep(3.3)
            d_start, d_end = topo.capture_dropout_sync("dut", 0.25)  # the lab's: the whole chain
            _wait_recorded(rig, "receiver", t_play + int(6.5e9))
        finally:
            rig.close()
    tear_down(topo)
    # one stream, split per route; the chain file holds every channel, reference last
    chain = read_capture(next((tmp_path / "audio-chain").glob("*.flac")))  # FLAC once closed
    assert chain.channel_names == ["receiver", "speaker", "reference"]
    rx = read_capture(rig.wav("receiver"))
    assert rx.samples.ndim == 1 and len(rx.samples) == len(chain.samples) and rx.anchors == chain.anchors
    assert np.array_equal(rx.samples, chain.channel("receiver"))

    presence = rig.analyze("receiver", {"downlink": probe(20.0, DOWNLINK_SEED)}).presence["downlink"]
    gaps = [(a.end_ns, b.start_ns) for a, b in itertools.pairwise(presence)
            if b.start_ns - a.end_ns > 100e6]
    assert len(gaps) == 2, [(round((a - t_play) / 1e6), round((b - t_play) / 1e6)) for a, b in gaps]
    (app_start, app_end), (lab_start, lab_end) = gaps
    err_ms = [(app_start - (t_play + 1.5e9)) / 1e6, (app_end - (t_play + 1.8e9)) / 1e6]
    print(f"app gap edges vs truth: {[round(e, 1) for e in err_ms]} ms; dropout measured "
          f"{(lab_end - lab_start) / 1e6:.0f} ms, injected {(d_end - d_start) / 1e6:.0f} ms")
    assert max(abs(e) for e in err_ms) <= 20  # the skeleton's accuracy, with noise and cross-talk on
    assert rig.capture_fault(app_start, app_end) is None  # route silent, reference alive: the app's
    fault = rig.capture_fault(lab_start, lab_end)  # route silent, reference silent: the lab's
    assert fault is not None and fault.tag == "capture-dropout"
    chain_gaps = rig.reference_gaps()
    assert [g.kind for g in chain_gaps] == ["dead"]
    assert abs(chain_gaps[0].span.start_ns - d_start) < 60e6
    assert abs(chain_gaps[0].span.seconds - (d_end - d_start) / 1e9) < 0.06
    with pytest.raises(Exception, match="dropped out") as err:
        rig.check_capture(d_start, d_end)
    assert getattr(err.value, "tag", None) == "capture-dropout"


def test_a_capture_chain_that_goes_silent_is_a_lab_fault(
    pulse: PulseServer, timeline: Timeline, tmp_path: Path
) -> None:
    topo = build_topology(pulse, {"dut": ("receiver",)}, config=AcousticsConfig(noise_dbfs=None))
    audio = Audio.model_validate(topo.audio_map("dut"))
    with Player(topo.output("dut", "receiver"), timeline=timeline) as app:
        app.play(probe(5.0, DOWNLINK_SEED))
        with AudioRig(audio, tmp_path / "audio", timeline=timeline) as rig:
            time.sleep(1.5)
            t_silent = topo.set_capture_silent("dut", True)
            time.sleep(1.0)
            _wait_recorded(rig, "receiver", t_silent + int(0.8e9))
            fault = rig.capture_fault(t_silent, t_silent + int(0.5e9))
            assert rig.capture_fault(t_silent - int(1e9), t_silent - int(0.2e9)) is None
    tear_down(topo)
    assert fault is not None and fault.tag == "capture-silent"


# -- the reference analysis, on signals made here --------------------------------------------------


def _pilot(seconds: float, hz: float = 997.0, amp: float = 0.1) -> np.ndarray:
    n = np.arange(int(seconds * RATE))
    return (amp * np.sin(2 * np.pi * hz * n / RATE)).astype(np.float32)


def test_a_live_pilot_has_no_gaps_and_a_muted_stretch_is_dead() -> None:
    x = _pilot(3.0)
    x += np.random.default_rng(1).standard_normal(len(x)).astype(np.float32) * 1e-3
    assert reference_gaps(x, RATE) == []
    x[RATE:RATE + 12000] = 0  # 250 ms of zeros: a mute keeps the pilot's phase after it
    gaps = reference_gaps(x, RATE)
    assert [(g.kind, g.open_ended) for g in gaps] == [("dead", False)]
    assert abs(gaps[0].start_frame - RATE) <= 480 and abs(gaps[0].frames - 12000) <= 960


def test_lost_frames_show_as_a_jump_of_the_pilot_phase() -> None:
    x = _pilot(3.0)
    lost = np.concatenate([x[:RATE], x[RATE + 700:]])  # 700 frames never delivered
    gaps = reference_gaps(lost, RATE)
    assert [g.kind for g in gaps] == ["discontinuity"]
    assert abs(gaps[0].start_frame - RATE) <= 480
    cut = np.concatenate([x[:RATE], np.zeros(4800, np.float32), x[RATE + 9600:]])  # silent and lost
    assert sorted(g.kind for g in reference_gaps(cut, RATE)) == ["dead", "discontinuity"]


def test_a_chain_that_never_delivered_or_stopped_delivering_is_open_ended() -> None:
    assert [(g.kind, g.open_ended) for g in reference_gaps(np.zeros(RATE, np.float32), RATE)] == [
        ("dead", True)]
    x = _pilot(3.0)
    x[2 * RATE:] = 0
    assert [(g.kind, g.open_ended) for g in reference_gaps(x, RATE)] == [("dead", True)]
    mouth = probe(2.0, DOWNLINK_SEED)
    mouth[RATE // 2:RATE] = 0
    gaps = reference_gaps(mouth, RATE, signal="mouth")
    assert [g.kind for g in gaps] == ["dead"] and abs(gaps[0].frames - RATE // 2) <= 960
    with pytest.raises(UsageError, match="pilot' or 'mouth"):
        reference_gaps(mouth, RATE, signal="sine")


# -- the lab file's capture map ---------------------------------------------------------------------


LAB = {"devices": [{"name": "A", "udid": "00008120-001A2B3C4D5E6F70", "role": "dut"}]}


def test_a_multichannel_capture_map_loads_and_dumps_in_its_own_form() -> None:
    grouped = {"device": "dut_capture_monitor", "channels": {"receiver": 0, "speaker": 1},
               "reference": 2, "device_channels": 3}
    lab = Lab.from_dict({**LAB, "audio": {"capture": grouped}})
    assert lab.audio.capture["speaker"].device == "dut_capture_monitor"
    assert lab.audio.capture["speaker"].channel == 1
    assert lab.audio.reference is not None and lab.audio.reference.channel == 2
    assert lab.audio.width("dut_capture_monitor") == 3
    dumped = lab.to_dict()["audio"]["capture"]
    assert dumped == {**grouped, "reference": {"channel": 2, "signal": "pilot", "pilot_hz": 997.0}}
    assert Lab.from_dict(lab.to_dict()) == lab
    # today's per-route form still loads, on several devices, with a reference of its own
    per_route = {"speaker": {"device": "Scarlett", "channel": 0}, "receiver": {"device": "Other"},
                 "reference": {"device": "Scarlett", "channel": 3, "signal": "mouth"}}
    lab2 = Lab.from_dict({**LAB, "audio": {"capture": per_route}})
    assert lab2.audio.width("Scarlett") == 4 and lab2.audio.reference.signal == "mouth"
    assert Lab.from_dict(lab2.to_dict()) == lab2


@pytest.mark.parametrize(("capture", "message"), [
    ({"device": "x", "channels": {"receiver": 0, "speaker": 0}}, "both use channel 0"),
    ({"device": "x", "channels": {"receiver": 0}, "reference": 0}, "both use channel 0"),
    ({"device": "x", "channels": {"receiver": 3}, "device_channels": 2}, "opened with 2 channels"),
    ({"device": "x", "channels": {"earpiece": 0}}, "unknown route 'earpiece'"),
    ({"device": "x", "channels": {"receiver": 0}, "speaker": {"device": "y"}}, "unknown key(s) ['speaker']"),
    ({"device": "x"}, "needs device: NAME and channels"),
    ({"receiver": {"device": "a"}, "speaker": {"device": "b"}, "reference": {"channel": 1}},
     "name its device"),
])
def test_mistakes_in_a_capture_map_are_named(capture: dict, message: str) -> None:
    with pytest.raises(UsageError) as err:
        Lab.from_dict({**LAB, "audio": {"capture": capture}})
    assert message in str(err.value)


def test_accessories_name_their_plugin_and_phone() -> None:
    spec = {"name": "AirPods", "plugin": "harness.lab.accessories:VirtualAccessory", "device": "A",
            "options": {"control_url": "http://127.0.0.1:1"}}
    lab = Lab.from_dict({**LAB, "accessories": [{**spec, "profiles": ["hfp", "a2dp"]}]})
    assert lab.accessories[0].kind == "bluetooth" and lab.accessories[0].profiles == ["hfp", "a2dp"]
    for bad, message in (({"plugin": "not a path"}, "not a dotted path"),
                         ({"device": "B"}, "names device 'B'"),
                         ({"kind": "usb"}, "kind: must be .bluetooth."),
                         ({"profiles": ["avrcp"]}, "profiles")):
        with pytest.raises(UsageError, match=message):
            Lab.from_dict({**LAB, "accessories": [{**spec, **bad}]})
    with pytest.raises(UsageError, match="two accessories"):
        Lab.from_dict({**LAB, "accessories": [spec, spec]})
