"""Recordings after kill -9, a restart, or an uplink that went silent (reliability-probe.md findings 1
and 10): the peer runs as `harness peer` in its own process, the client is the project's WHIP client."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf

from harness.audio.probe import MOUTH_SEED
from harness.peer.downlink import EncodedProbe
from harness.peer.rtp_log import RtpLogWriter, read_log
from harness.peer.whip_client import ScriptedProbeTrack, WhipClient


def _start_peer(record_dir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    """`harness peer` on a port of its own choosing (none chosen here and bound later); its port."""
    log_path = Path(f"{record_dir}.log")
    seen = log_path.stat().st_size if log_path.exists() else 0  # a second run appends
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    cmd = [sys.executable, "-m", "harness", "peer", "--bind", "127.0.0.1:0", "--token", "K",
           "--record-dir", str(record_dir), *extra]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while not (m := re.search(rb"WHIP endpoint: http://127\.0\.0\.1:(\d+)/", log_path.read_bytes()[seen:])):
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)
    return proc, int(m.group(1))


def _call(port: int, peer: subprocess.Popen[bytes], packets: int, sig: signal.Signals,
          pauses: dict[int, tuple[float, bool]] | None = None, hold_s: float = 0.0,
          before_signal: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Stream ``packets`` of the mouth probe (then hold the call ``hold_s``), signal the peer.

    Returns the packets sent when the signal was due (``before_signal`` gets that count first) and
    when it was sent."""
    async def run() -> tuple[int, int]:
        track = ScriptedProbeTrack(MOUTH_SEED, pauses)
        client = WhipClient(f"http://127.0.0.1:{port}/whip", "K", track)
        await client.connect()
        while track.sent < packets:
            await asyncio.sleep(0.01)
        await asyncio.sleep(hold_s)
        sent = track.sent
        if before_signal is not None:
            await asyncio.to_thread(before_signal, sent)
        sent_at_signal = track.sent
        peer.send_signal(sig)
        await asyncio.sleep(1.0)
        await client.drop()
        return sent, sent_at_signal

    counts = asyncio.run(run())
    peer.wait(60)
    return counts


def _logged(record_dir: Path) -> int:
    return sum(len(read_log(p)[1]) for p in record_dir.glob("call-*/*.rtplog"))


def _decode(record_dir: Path) -> list[dict]:
    r = subprocess.run([sys.executable, "-m", "harness", "peer", "decode", str(record_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def test_sigkill_mid_call_loses_nothing_and_decode_rebuilds_the_wavs(tmp_path: Path) -> None:
    rd = tmp_path / "rec"
    peer, port = _start_peer(rd)

    def until_logged(sent: int) -> None:  # the peer, another process on a loaded host, may lag
        deadline = time.monotonic() + 10
        while _logged(rd) < sent:  # a writer that buffers records never gets there
            assert time.monotonic() < deadline, f"{_logged(rd)} of {sent} packets in the log"
            time.sleep(0.02)

    sent, sent_at_kill = _call(port, peer, 250, signal.SIGKILL, before_signal=until_logged)
    (log,) = rd.glob("call-*/*.rtplog")
    assert sent <= len(read_log(log)[1]) <= sent_at_kill  # every packet it logged survived kill -9
    assert not list(rd.glob("call-*/*.wav"))  # a killed peer wrote none
    (s,) = _decode(rd)
    assert s["sessions"] == 1 and s["packets"] == len(read_log(log)[1]) and s["rebuilt"]
    assert s["uplink_coverage_rtp"] > 0.99 and s["uplink_gaps_rtp"] == []
    info = sf.info(s["wavs"]["rtp"])
    assert info.duration == pytest.approx(s["packets"] / 50, abs=0.1)
    assert json.loads((log.parent / "summary.json").read_text())["packets"] == s["packets"]


def test_a_second_run_never_overwrites_the_first(tmp_path: Path) -> None:
    rd = tmp_path / "rec"
    peer, port = _start_peer(rd, "--no-analyze")
    _call(port, peer, 150, signal.SIGTERM)
    (first,) = rd.glob("call-*/uplink-rtp.wav")
    before = first.read_bytes()
    peer, port = _start_peer(rd, "--no-analyze")
    _call(port, peer, 50, signal.SIGTERM)
    assert first.read_bytes() == before
    dirs = sorted(p.name for p in rd.glob("call-*"))
    assert len(dirs) == 2 and dirs[1] == dirs[0] + "-2"
    assert sf.info(rd / dirs[1] / "uplink-rtp.wav").duration < sf.info(first).duration
    assert len(_decode(rd)) == 2  # each run's call rebuilt on its own


def test_an_uplink_that_stops_while_the_call_stays_up_is_missing_end(tmp_path: Path) -> None:
    """Finding 1, peer variant: 3 s of uplink, then 6 s of nothing on a live connection."""
    rd = tmp_path / "rec"
    peer, port = _start_peer(rd)
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
    # the decode is killed halfway through its first WAV: its write stops there and says so (a
    # poller that hoped to catch the temporary file in its ~0.1 s of life missed it on a loaded host)
    code = textwrap.dedent(f"""
        import sys, time
        import soundfile
        whole = soundfile.SoundFile.write
        def halfway(self, data):
            whole(self, data[: len(data) // 2])
            self.flush()
            print("halfway", flush=True)
            time.sleep(120)
        soundfile.SoundFile.write = halfway
        from harness.peer.rtp_log import write_wavs
        write_wavs([{str(call / '00-x.rtplog')!r}], {str(call / 'uplink')!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "halfway"
        assert list(call.glob(".uplink-rtp.wav.*.tmp"))  # what a kill now leaves behind
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (call / "uplink-rtp.wav").exists() and not (call / "uplink-arrival.wav").exists()
    (s,) = _decode(tmp_path / "rec")
    assert sf.info(s["wavs"]["rtp"]).duration == pytest.approx(180.0, abs=0.05)
    assert not list(call.glob(".*.tmp"))  # the killed writer's leftover was cleared by the rebuild
