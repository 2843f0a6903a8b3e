"""Recordings after kill -9, a restart, or an uplink that went silent (reliability-probe.md findings 1
and 10): the peer runs as `harness peer` in its own process, the client is the project's WHIP client."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from harness.audio.probe import MOUTH_SEED
from harness.peer.downlink import EncodedProbe
from harness.peer.rtp_log import RtpLogWriter, read_log
from harness.peer.whip_client import ScriptedProbeTrack, WhipClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_peer(record_dir: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    log = open(f"{record_dir}.log", "ab")  # noqa: SIM115 - the child owns it
    cmd = [sys.executable, "-m", "harness", "peer", "--bind", f"127.0.0.1:{port}", "--token", "K",
           "--record-dir", str(record_dir), *extra]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)):
        assert proc.poll() is None and time.monotonic() < deadline, Path(f"{record_dir}.log").read_text()
        time.sleep(0.1)
    return proc


def _call(port: int, peer: subprocess.Popen[bytes], packets: int, sig: signal.Signals,
          pauses: dict[int, tuple[float, bool]] | None = None, hold_s: float = 0.0) -> int:
    """Stream ``packets`` of the mouth probe (then hold the call ``hold_s``), signal the peer; sent count."""
    async def run() -> int:
        track = ScriptedProbeTrack(MOUTH_SEED, pauses)
        client = WhipClient(f"http://127.0.0.1:{port}/whip", "K", track)
        await client.connect()
        while track.sent < packets:
            await asyncio.sleep(0.01)
        await asyncio.sleep(hold_s)
        sent = track.sent
        peer.send_signal(sig)
        await asyncio.sleep(1.0)
        await client.drop()
        return sent

    sent = asyncio.run(run())
    peer.wait(60)
    return sent


def _decode(record_dir: Path) -> list[dict]:
    r = subprocess.run([sys.executable, "-m", "harness", "peer", "decode", str(record_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def test_sigkill_mid_call_loses_nothing_and_decode_rebuilds_the_wavs(tmp_path: Path) -> None:
    rd, port = tmp_path / "rec", _free_port()
    sent = _call(port, _start_peer(rd, port), 250, signal.SIGKILL)
    (log,) = rd.glob("call-*/*.rtplog")
    assert sent - 1 <= len(read_log(log)[1]) <= sent  # at most the packet in flight
    assert not list(rd.glob("call-*/*.wav"))  # a killed peer wrote none
    (s,) = _decode(rd)
    assert s["sessions"] == 1 and s["packets"] == len(read_log(log)[1]) and s["rebuilt"]
    assert s["uplink_coverage_rtp"] > 0.99 and s["uplink_gaps_rtp"] == []
    info = sf.info(s["wavs"]["rtp"])
    assert info.duration == pytest.approx(s["packets"] / 50, abs=0.1)
    assert json.loads((log.parent / "summary.json").read_text())["packets"] == s["packets"]


def test_a_second_run_never_overwrites_the_first(tmp_path: Path) -> None:
    rd, port = tmp_path / "rec", _free_port()
    _call(port, _start_peer(rd, port, "--no-analyze"), 150, signal.SIGTERM)
    (first,) = rd.glob("call-*/uplink-rtp.wav")
    before = first.read_bytes()
    _call(port, _start_peer(rd, port, "--no-analyze"), 50, signal.SIGTERM)
    assert first.read_bytes() == before
    dirs = sorted(p.name for p in rd.glob("call-*"))
    assert len(dirs) == 2 and dirs[1] == dirs[0] + "-2"
    assert sf.info(rd / dirs[1] / "uplink-rtp.wav").duration < sf.info(first).duration
    assert len(_decode(rd)) == 2  # each run's call rebuilt on its own


def test_an_uplink_that_stops_while_the_call_stays_up_is_missing_end(tmp_path: Path) -> None:
    """Finding 1, peer variant: 3 s of uplink, then 6 s of nothing on a live connection."""
    rd, port = tmp_path / "rec", _free_port()
    peer = _start_peer(rd, port)
    _call(port, peer, 150, signal.SIGINT, pauses={150: (60000.0, True)}, hold_s=6.0)
    out = Path(f"{rd}.log").read_text()
    summary = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    tail = [g for g in summary["uplink_gaps_rtp"] if g["kind"] == "missing-end"]
    assert len(tail) == 1 and tail[0]["duration_ms"] > 5000, summary["uplink_gaps_rtp"]
    assert summary["uplink_coverage_rtp"] < 0.5
    assert "missing-end" in next(line for line in out.splitlines() if line.startswith("call-"))


def test_a_kill_during_the_decode_leaves_no_short_wav(tmp_path: Path) -> None:
    """Finding 10: WAVs are written to a temporary file and renamed; a killed decode leaves none (and
    `peer decode` then writes them whole), never a shorter one that reads as valid."""
    call = tmp_path / "rec" / "call-x"
    call.mkdir(parents=True)
    enc = EncodedProbe.shared(MOUTH_SEED)
    w = RtpLogWriter(call / "00-x.rtplog", {"clock_rate": 48000, "payload_type": 96, "channels": 2,
                                            "index": 0, "session": "x", "call": "call-x"})
    for k in range(9000):  # 3 minutes of 20 ms packets
        w.write(10**12 + k * 20_000_000, 1234, k * 960, k % 65536, 96, False, enc.packet(k))
    w.close()
    code = (f"from harness.peer.rtp_log import write_wavs; "
            f"write_wavs([{str(call / '00-x.rtplog')!r}], {str(call / 'uplink')!r})")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while not list(call.glob(".uplink-rtp.wav.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (call / "uplink-rtp.wav").exists() and not (call / "uplink-arrival.wav").exists()
    (s,) = _decode(tmp_path / "rec")
    assert sf.info(s["wavs"]["rtp"]).duration == pytest.approx(180.0, abs=0.05)
    assert not list(call.glob(".*.tmp"))  # the killed writer's leftover was cleared by the rebuild
