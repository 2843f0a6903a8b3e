"""A test's artifacts folder with known content, written the way the harness writes one.

Route captures are the real capture format (WAV + timing sidecar): the receiver carries the peer's
downlink probe except during a phone call (``GAP``), the speaker only noise. So the report's gap
band and presence lanes have a known right answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.audio.capture import sidecar_path
from harness.audio.probe import DOWNLINK_SEED, probe
from harness.audio.wav import write_wav
from harness.timeline import Timeline

RATE = 48000
T0 = 50_000_000_000  # lab-clock ns of the test's start
CAPTURE_FROM_S = 1.0  # captures start 1 s into the test
CAPTURE_S = 10.0
GAP = (4.0, 7.3)  # s since T0: the receiver carries nothing
UDID = "00008120-001A50619D98ADB6"
PHONE = "Virtual iPhone A"


def write_capture(path: Path, samples: np.ndarray, t0_ns: int, device: str) -> None:
    write_wav(path, samples, RATE)
    lines = [{"kind": "header", "device": device, "name": path.stem, "rate": RATE, "channels": 1,
              "sample_format": "int16", "channel_names": [path.stem]}]
    lines += [{"kind": "anchor", "frame": f, "t_ns": t0_ns + round(f * 1e9 / RATE), "from": "adc"}
              for f in range(0, len(samples), RATE)]
    lines.append({"kind": "stop", "frames": len(samples)})
    sidecar_path(path).write_text("".join(json.dumps(x) + "\n" for x in lines))


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    clock = iter(range(T0 + 1, T0 + 10**12, 1000))  # only for events emitted without t_ns
    with Timeline(folder / "timeline.jsonl", clock=lambda: next(clock)) as tl:
        # the anchor is at T0 (first clock read is T0+1; rewrite it exactly)
        tl.emit("peer", "downlink", t_ns=T0 + 200_000_000, mode="probe", seed=DOWNLINK_SEED, origin_ns=T0,
                call="call-1", session="s1")
        tl.emit("peer", "connection-state", t_ns=T0 + 500_000_000, state="connected", call="call-1")
        tl.emit("phone", "app-launched", t_ns=T0 + 300_000_000, phone=PHONE, bundle_id="com.example")
        tl.emit("device-log", "app-event", t_ns=T0 + 4_000_000_000, udid=UDID, process="VoiceAgent", pid=1,
                subsystem="com.example", category="harness", level="default",
                message="HARNESS-EVENT interruption-began reason=0", event="interruption-began")
        tl.emit("phone", "recipe", t_ns=T0 + 4_100_000_000, phone=PHONE, recipe="answer_call")
        tl.emit("mark", "call-answered", t_ns=T0 + 4_100_000_000)
        tl.emit("mark", "call-ended", t_ns=T0 + 7_000_000_000)
        tl.emit("device-log", "log", t_ns=T0 + 7_100_000_000, udid=UDID, process="SpringBoard", pid=54,
                subsystem="com.apple.springboard", category="x", level="default", message="call 1 ended")
        tl.emit("peer", "connection-state", t_ns=T0 + 11_500_000_000, state="closed", call="call-1")
    lines = (folder / "timeline.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["t_ns"] = T0
    (folder / "timeline.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")

    audio = folder / "audio"
    audio.mkdir()
    n = int(CAPTURE_S * RATE)
    ref = probe(CAPTURE_FROM_S + CAPTURE_S + 1, DOWNLINK_SEED, rate=RATE)
    start = int(CAPTURE_FROM_S * RATE)
    receiver = 0.3 * ref[start:start + n].copy()
    a, b = (int((g - CAPTURE_FROM_S) * RATE) for g in GAP)
    receiver[a:b] = 0.0
    rng = np.random.default_rng(1)
    receiver += 1e-4 * rng.standard_normal(n)
    write_capture(audio / "receiver.wav", receiver, T0 + int(CAPTURE_FROM_S * 1e9), "rx_monitor")
    write_capture(audio / "speaker.wav", 1e-4 * rng.standard_normal(n), T0 + int(CAPTURE_FROM_S * 1e9),
                  "spk_monitor")
    peer = folder / "peer" / "call-1"
    peer.mkdir(parents=True)
    write_wav(peer / "uplink-rtp.wav", np.zeros(RATE), RATE)
    shots = folder / PHONE.replace(" ", "_")
    shots.mkdir()
    (shots / "answer_call-miss.png").write_bytes(_tiny_png())
    return folder


def _tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
