"""The private aiortc hook the tap wraps, the log format, and the log surviving kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.audio.analyze import analyze
from harness.audio.probe import MOUTH_SEED, probe
from harness.errors import UsageError
from harness.peer.rtp_log import RECORD, RtpLogWriter, decode_logs, read_log
from harness.peer.rtp_tap import check_private_api
from harness.peer.stats import RtpStats
from tests.peer.loaded_host import real_gaps


def test_aiortc_private_api_is_what_the_tap_wraps():
    # Fails loudly (PrivateApiChanged) when an aiortc upgrade moves RTCRtpReceiver._handle_rtp_packet.
    check_private_api()


def test_log_round_trip_and_torn_record(tmp_path):
    w = RtpLogWriter(tmp_path / "a.rtplog", {"clock_rate": 48000})
    for i in range(3):
        w.write(1000 + i, 7, 960 * i, 65535 + i & 0xFFFF, 111, i == 0, b"p%d" % i)
    w.close()
    with open(tmp_path / "a.rtplog", "ab") as f:
        f.write(RECORD.pack(9, 7, 0, 0, 111, 0, 50) + b"short")  # torn: 5 of 50 payload bytes
    meta, packets = read_log(tmp_path / "a.rtplog")
    assert meta == {"clock_rate": 48000}
    assert [(p.seq, p.payload, p.marker) for p in packets] == [(65535, b"p0", True), (0, b"p1", False),
                                                               (1, b"p2", False)]
    (tmp_path / "bad").write_bytes(b"RIFF....")
    with pytest.raises(UsageError, match="not a harness RTP log"):
        read_log(tmp_path / "bad")


def test_stats_count_losses_across_sequence_wrap():
    s = RtpStats()
    for k, seq in enumerate([65533, 65534, 0, 1, 1, 3]):  # 65535 and 2 lost, one duplicate
        s.add(seq, 960 * k, k * 20_000_000, 10)
    assert (s.packets, s.expected, s.lost, s.duplicates) == (5, 7, 2, 1)


PEER_SCRIPT = """
import asyncio, sys
from harness.peer.whip import WhipPeer
async def main():
    async with WhipPeer(bind="127.0.0.1:0", tokens=["k"], record_dir=sys.argv[1], decode_on_exit=False) as p:
        print(p.url, flush=True)
        await asyncio.sleep(600)
asyncio.run(main())
"""


async def test_log_and_wavs_readable_after_kill_9(tmp_path):
    from harness.peer.whip_client import ScriptedProbeTrack, WhipClient

    proc = subprocess.Popen([sys.executable, "-c", PEER_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        track = ScriptedProbeTrack(MOUTH_SEED)
        client = WhipClient(url, "k", track)
        await client.connect()
        import asyncio

        while track.sent < 150:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # mid-call
        proc.wait(10)
        await client.drop()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    logs = list(tmp_path.glob("call-*/*.rtplog"))
    assert len(logs) == 1
    _, packets = read_log(logs[0])
    assert len(packets) >= 140
    d = decode_logs(logs)
    for axis, samples in (("rtp", d.rtp), ("arrival", d.arrival)):
        a = analyze(samples, 48000, {"m": probe(len(samples) / 48000 + 1, MOUTH_SEED)}, echo=False)
        real = a.gaps if axis == "rtp" else real_gaps(a.gaps, axis)
        assert real == [] and a.matched_s > 2.5, (axis, [g.to_dict() for g in a.gaps])
    events = [json.loads(line) for line in (tmp_path / "peer-timeline.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "first-packet" for e in events)



def test_decode_places_audio_on_both_axes(tmp_path):
    """Synthetic log: 1 s of probe, then a 200 ms hole in both clocks, a 200 ms stall, a foreign PT."""
    from harness.audio.opus import OpusEncoder

    pk = OpusEncoder(rate=48000, channels=1, bitrate=32000).encode_all(probe(4.0, MOUTH_SEED))
    w = RtpLogWriter(tmp_path / "s.rtplog", {"clock_rate": 48000, "payload_type": 111})
    t_ms = 0.0
    for i in range(150):
        if i == 50:
            t_ms += 200  # sender skipped 200 ms: content 50..59 never sent, timestamps jump
        if i == 100:
            t_ms += 200  # stall: nothing for 200 ms, timestamps continue
        content = i + 10 if i >= 50 else i
        w.write(int(t_ms * 1e6), 1, content * 960, i, 111, False, pk[content])
        if i == 120:
            w.write(int(t_ms * 1e6), 1, 0, 60000, 126, False, b"\x01\x02\x03\x04")  # DTMF: ignored
        t_ms += 20
    w.close()
    d = decode_logs([tmp_path / "s.rtplog"])
    ref = {"m": probe(5.0, MOUTH_SEED)}
    rtp = analyze(d.rtp, 48000, ref, echo=False)
    arrival = analyze(d.arrival, 48000, ref, echo=False)
    assert [(g.kind, round(g.lost_ms / 20)) for g in rtp.gaps] == [("lost", 10)]
    kinds = [(g.kind, round(g.duration_ms / 20)) for g in arrival.gaps]
    assert kinds == [("lost", 10), ("delayed", 10)], [g.to_dict() for g in arrival.gaps]


@pytest.mark.parametrize(("closed_after_ms", "missing_ms"), [(21.0, 0.0), (59.0, 0.0), (500.0, 440.0)])
def test_the_tail_after_the_last_packet_is_missing_only_once_the_next_packet_is_late(
        tmp_path, closed_after_ms, missing_ms):
    """A call closed while its next packet is in flight (one packet's jitter: CI saw 20.5 ms) ends
    where its audio did; a call that outlived its uplink by more than the late tolerance ends in
    silence for what is past that tolerance."""
    from harness.audio.opus import OpusEncoder

    pk = OpusEncoder(rate=48000, channels=1, bitrate=32000).encode_all(probe(2.0, MOUTH_SEED))
    w = RtpLogWriter(tmp_path / "s.rtplog", {"clock_rate": 48000, "payload_type": 111})
    for i in range(50):
        w.write(i * 20_000_000, 1, i * 960, i, 111, False, pk[i])
    w.close()
    last_ns = 49 * 20_000_000
    bare = decode_logs([tmp_path / "s.rtplog"])
    d = decode_logs([tmp_path / "s.rtplog"], end_ns=last_ns + int(closed_after_ms * 1e6))
    for axis in ("rtp", "arrival"):
        added_ms = (len(getattr(d, axis)) - len(getattr(bare, axis))) * 1000 / 48000
        assert added_ms == pytest.approx(missing_ms, abs=0.05), axis
