"""Soak benchmark for the WHIP peer: an hour of reconnecting calls under unauthenticated noise.

The peer runs as the real ``harness peer`` command (tokens from ``--token-file``); this process is
its clients. Over ``--minutes`` it places ``--calls`` calls one after another, each with its own
token: the app streams the mouth probe, vanishes without a DELETE halfway (an interrupted phone), and
reconnects with the same token on a fresh session (the peer stitches both into one call). All the
while, noise without a valid token: ``--noise-rate`` POSTs per second (401s), and every 30 s a burst
of 50 half-open slowloris requests. Prints the peer's RSS and open file descriptors at the start,
after the first call (warm), every 10 minutes and at the end (target: flat), then what the peer
counted and each call's summary line checked: two sessions, no packet lost.

    .venv/bin/python bench/peer_soak.py                  # 60 min, 60 calls, 20 noise POSTs/s
    .venv/bin/python bench/peer_soak.py --minutes 5 --calls 5

It starts no virtual lab: everything is loopback aiortc and HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def proc_figures(pid: int) -> tuple[float, int]:
    """(RSS in MB, open file descriptors) of ``pid``."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def one_call(url: str, token: str, seconds: float) -> int:
    """Stream, vanish halfway (no DELETE), reconnect with the same token, stream, hang up. Packets sent."""
    from harness.audio.probe import MOUTH_SEED
    from harness.peer.whip_client import ScriptedProbeTrack, WhipClient

    sent = 0
    for part in range(2):
        track = ScriptedProbeTrack(MOUTH_SEED)
        client = WhipClient(url, token, track)
        await client.connect(timeout=30)
        await asyncio.sleep(seconds / 2)
        sent += track.sent
        if part == 0:
            await client.drop()  # an interrupted phone: no DELETE, the peer sees ICE consent expire
            await asyncio.sleep(2.0)
        else:
            await client.close()
    return sent


async def noise(url: str, rate: float, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """Unauthenticated POSTs at ``rate`` per second on keep-alive connections."""
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        i = 0
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                async with http.post(url, data="v=0\r\n", headers={
                        "Content-Type": "application/sdp", "Authorization": f"Bearer junk-{i}"}) as r:
                    counts[str(r.status)] = counts.get(str(r.status), 0) + 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                counts[type(exc).__name__] = counts.get(type(exc).__name__, 0) + 1
            i += 1
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - t0)))


async def slowloris(port: int, stop: asyncio.Event, counts: dict[str, int], every_s: float = 30.0) -> None:
    """Every ``every_s``: 50 connections that send half a request line and never finish it."""
    while not stop.is_set():
        conns = []
        for _ in range(50):
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                counts["slow-refused"] = counts.get("slow-refused", 0) + 1
                continue
            w.write(b"POST /whip HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            conns.append((r, w))
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
        closed = sum(r.at_eof() for r, _ in conns)
        counts["slow-closed-by-peer"] = counts.get("slow-closed-by-peer", 0) + closed
        counts["slow-opened"] = counts.get("slow-opened", 0) + len(conns)
        for _, w in conns:
            w.close()


async def soak(url: str, port: int, pid: int, minutes: float, calls: int, rate: float) -> dict:
    figures = {"start": proc_figures(pid)}
    print(f"start: RSS {figures['start'][0]:.1f} MB, {figures['start'][1]} FDs", flush=True)
    stop = asyncio.Event()
    counts: dict[str, int] = {}
    background = [asyncio.ensure_future(noise(url, rate, stop, counts)),
                  asyncio.ensure_future(slowloris(port, stop, counts))]
    interval = minutes * 60 / calls
    call_s = min(40.0, max(6.0, interval - 8.0))
    t0 = time.monotonic()
    next_report = 600.0
    sent = []
    for k in range(calls):
        await asyncio.sleep(max(0.0, t0 + k * interval - time.monotonic()))
        sent.append(await one_call(url, f"soak-{k:03d}", call_s))
        elapsed = time.monotonic() - t0
        if k == 0:
            figures["warm"] = proc_figures(pid)
            rss, fds = figures["warm"]
            print(f"after the first call: RSS {rss:.1f} MB, {fds} FDs (noise included)", flush=True)
        if elapsed >= next_report:
            rss, fds = proc_figures(pid)
            print(f"{elapsed / 60:5.1f} min, {k + 1} calls: RSS {rss:.1f} MB, {fds} FDs, noise {counts}",
                  flush=True)
            next_report += 600.0
    await asyncio.sleep(max(0.0, t0 + minutes * 60 - time.monotonic()))
    stop.set()
    await asyncio.gather(*background, return_exceptions=True)
    await asyncio.sleep(35.0)  # the last dropped session's consent expiry; noise connections timed out
    figures["end"] = proc_figures(pid)
    return {"figures": figures, "counts": counts, "sent": sent, "minutes": (time.monotonic() - t0) / 60}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--noise-rate", type=float, default=20.0, help="unauthenticated POSTs per second")
    ap.add_argument("--keep", action="store_true", help="keep the record dir")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="peer-soak-"))
    tokens = tmp / "tokens"
    tokens.write_text("".join(f"soak-{k:03d}\n" for k in range(args.calls)))
    tokens.chmod(0o600)
    port = free_port()
    log = open(tmp / "peer.log", "wb")  # noqa: SIM115 - the peer child writes it
    peer = subprocess.Popen([sys.executable, "-m", "harness", "peer", "--bind", f"127.0.0.1:{port}",
                             "--token-file", str(tokens), "--record-dir", str(tmp / "rec"), "--no-analyze"],
                            stdout=log, stderr=subprocess.STDOUT)
    while socket.socket().connect_ex(("127.0.0.1", port)):
        if peer.poll() is not None:
            sys.exit(f"the peer exited: {(tmp / 'peer.log').read_text()[-2000:]}")
        time.sleep(0.1)
    time.sleep(1.0)
    url = f"http://127.0.0.1:{port}/whip"
    try:
        result = asyncio.run(soak(url, port, peer.pid, args.minutes, args.calls, args.noise_rate))
    finally:
        peer.send_signal(signal.SIGINT)
        peer.wait(600)
        log.close()
    text = (tmp / "peer.log").read_text()
    summaries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    timeline = tmp / "rec" / "peer-timeline.jsonl"
    f = result["figures"]
    print(f"\npeer soak: {result['minutes']:.1f} min, {args.calls} calls, noise {args.noise_rate:g}/s")
    print(f"  RSS  start {f['start'][0]:.1f} MB, after the first call {f['warm'][0]:.1f} MB, "
          f"end {f['end'][0]:.1f} MB (end - warm {f['end'][0] - f['warm'][0]:+.1f} MB)")
    print(f"  FDs  start {f['start'][1]}, after the first call {f['warm'][1]} (noise included), "
          f"end {f['end'][1]}")
    print(f"  noise: {result['counts']}")
    events = len(timeline.read_text().splitlines())
    print(f"  timeline {timeline.stat().st_size / 1e6:.2f} MB on disk, {events} events; "
          f"peer log {len(text.splitlines())} lines")
    two = sum(1 for s in summaries if s["sessions"] == 2)
    lost = sum(s["lost"] for s in summaries)
    packets = sum(s["packets"] for s in summaries)
    print(f"  calls summarised {len(summaries)}, with 2 sessions {two}, packets {packets} "
          f"(sent {sum(result['sent'])}), lost {lost}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"  record dir {tmp}")


if __name__ == "__main__":
    main()
