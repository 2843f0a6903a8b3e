"""``harness peer`` as a QA engineer runs it: prints the URL, Ctrl-C prints a per-call summary."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from harness.audio.probe import MOUTH_SEED
from harness.peer.whip_client import ScriptedProbeTrack, WhipClient
from tests.peer.loaded_host import real_gaps

ROOT = Path(__file__).resolve().parents[2]


def test_bad_bind_is_a_usage_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness", "peer", "--bind", "nope", "--token", "t",
                        "--record-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2
    assert "HOST:PORT" in r.stderr and len(r.stderr.strip().splitlines()) == 1


async def test_ctrl_c_prints_the_call_summary(tmp_path):
    cmd = [sys.executable, "-m", "harness", "peer", "--bind", "127.0.0.1:0", "--token", "qa",
           "--record-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line.startswith("WHIP endpoint: http://127.0.0.1:"), line
        track = ScriptedProbeTrack(MOUTH_SEED, {60: (300.0, True)})
        client = WhipClient(line.split()[-1], "qa", track)
        await client.connect()
        while track.sent < 150:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        # no DELETE: the peer's Ctrl-C ends the call while its packets still flow, and the summary
        # must still cover it
        proc.send_signal(signal.SIGINT)
        await asyncio.sleep(0.5)
        await client.drop()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    human, js = out.strip().splitlines()[-2:]
    assert "1 session(s), 0 reconnect(s)" in human and "uplink gaps rtp=1 " in human, out
    summary = json.loads(js)
    assert summary["packets"] >= 140 and summary["lost"] == 0
    assert [g["kind"] for g in summary["uplink_gaps_rtp"]] == ["lost"], out
    arrival = real_gaps(summary["uplink_gaps_arrival"], "arrival")
    assert [g["kind"] for g in arrival] == ["lost"], out
    assert Path(summary["wavs"]["arrival"]).exists()
