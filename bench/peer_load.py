"""Load benchmark for the WHIP peer: N concurrent calls, clients in another process.

For each N the peer runs in this process (probe downlink, tapped uplink); a child process runs N
aiortc WHIP clients that publish the mouth probe and log the downlink. Prints, per N: the peer
process's CPU per call (% of one core), its RSS, and the analyzer's uplink gaps per call (both
axes) and downlink gaps per call; then the largest N with no gap.

    .venv/bin/python bench/peer_load.py --calls 1 2 4 8 --seconds 60

The machine running it may be shared: CPU figures include whatever else steals cycles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


async def clients(url: str, n: int, seconds: float, out: Path) -> None:
    from harness.audio.probe import MOUTH_SEED
    from harness.peer.whip_client import ScriptedProbeTrack, WhipClient

    cs = [WhipClient(url, f"load-{i}", ScriptedProbeTrack(MOUTH_SEED), downlink_log=out / f"down-{i}.rtplog")
          for i in range(n)]
    await asyncio.gather(*(c.connect(timeout=60) for c in cs))
    print("connected", flush=True)
    await asyncio.sleep(seconds)
    await asyncio.gather(*(c.close() for c in cs))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def gaps(samples, seed: int) -> list[list[float]]:
    """[start_s, duration_ms] per analyzer gap (start on the call's capture clock)."""
    from harness.audio.analyze import analyze
    from harness.audio.probe import probe

    if len(samples) < 4800:
        return [[0.0, float("inf")]]
    a = analyze(samples, 48000, {"p": probe(len(samples) / 48000 + 2, seed)}, echo=False)
    return [[round(g.start_s, 2), round(g.duration_ms, 1)] for g in a.gaps]


async def one_round(n: int, seconds: float) -> dict:
    from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED
    from harness.audio.wav import read_wav
    from harness.peer.rtp_log import decode_logs
    from harness.peer.whip import WhipPeer

    tmp = Path(tempfile.mkdtemp(prefix=f"peer-load-{n}-"))
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    async with WhipPeer(bind="127.0.0.1:0", tokens=[f"load-{i}" for i in range(n)], record_dir=tmp / "rec",
                        decode_on_exit=False) as peer:
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--client", peer.url, str(n), str(seconds), str(tmp),
            stdout=subprocess.PIPE)
        line = await asyncio.wait_for(child.stdout.readline(), 120)
        assert line.strip() == b"connected", line
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        rss = rss_mb()
        await child.wait()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    up, down = [], []
    for i in range(n):
        call = peer.calls[f"load-{i}"]
        call.decode()
        up.append({axis: gaps(read_wav(p)[0], MOUTH_SEED) for axis, p in call.wavs.items()})
        down.append(gaps(decode_logs([tmp / f"down-{i}.rtplog"]).rtp, DOWNLINK_SEED))
    return {"calls": n, "seconds": round(wall, 1), "peer_cpu_pct_per_call": round(100 * cpu / wall / n, 1),
            "peer_rss_mb": round(rss, 1), "clients_cpu_s": round(client_cpu, 1),
            "arrival_gap_events": len(peer.timeline.events(kind="arrival-gap")),
            "uplink_gaps_ms": up, "downlink_gaps_ms": down,
            "no_gap": all(not g["rtp"] and not g["arrival"] for g in up) and all(not g for g in down)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, n, seconds, out = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5])
        asyncio.run(clients(url, n, seconds, out))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    print(f"cpus={os.cpu_count()} (shared machine: figures include other load)")
    best = 0
    for n in args.calls:
        r = asyncio.run(one_round(n, args.seconds))
        with_gaps = {axis: sum(1 for g in r["uplink_gaps_ms"] if g[axis]) for axis in ("rtp", "arrival")}
        print(f"N={n}: peer CPU {r['peer_cpu_pct_per_call']} % of a core/call, RSS {r['peer_rss_mb']} MB, "
              f"calls with uplink gaps rtp={with_gaps['rtp']} arrival={with_gaps['arrival']}, "
              f"with downlink gaps {sum(1 for g in r['downlink_gaps_ms'] if g)}", flush=True)
        print(json.dumps(r), flush=True)
        if r["no_gap"]:
            best = max(best, n)
    print(f"largest N with no gap: {best}")


if __name__ == "__main__":
    main()
