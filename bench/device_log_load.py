"""Device-log load: thousands of log lines a second through the harness's log pump during a live call.

A real iPhone logs hundreds to thousands of lines a second (reference real-iphone.md H6). Here the
virtual phone's os_trace relay sends ``--rate`` lines/s of synthetic filler (its log-volume knob,
harness.sim.log_filler; 1 line in 20 from ``audiomxd``, which the DUT filter keeps) while a WHIP
call runs between the harness's peer (on the harness's loop thread, as the fixtures run it) and
an aiortc WhipClient in a child process (bench/peer_load.py's client). Per mode it prints the
lines pumped, the lines put on the timeline, the stalls of the peer's event loop (a 5 ms ticker's
lateness) and the downlink gaps the client's probe analysis finds (target: none), on the RTP axis
(what was sent) and the arrival axis (what a receiver with the peer's late tolerance would have
played: a stalled sender shows there first).

* ``after``: the pump on its own thread and loop, the DUT filter, no debug level, raw file;
* ``before``: as the harness did before: every line a timeline event, debug level asked, the pump
  on the peer's loop (``own_thread=False``, ``LogFilter(level="debug")`` keeping everything).

    .venv/bin/python bench/device_log_load.py --rate 5000 --seconds 30 --runs 3

Run it on an otherwise idle machine: other load shows up as stalls and gaps it would report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TICK_S = 0.005
FILLER_PROCESSES = ["harness-sim-filler"] * 19 + ["audiomxd"]


def control(url: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


async def ticker(lateness: list[float]) -> None:
    """The peer's loop's stalls: how late each 5 ms sleep wakes up."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(TICK_S)
        now = time.monotonic()
        lateness.append(now - last - TICK_S)
        last = now


def one_run(mode: str, rate: float, seconds: float, out: Path) -> dict:
    from peer_load import gaps

    from harness.audio.probe import DOWNLINK_SEED
    from harness.device import Device, LogFilter, use_usbmuxd
    from harness.device.os_trace import dut_log_filter
    from harness.lab.virtual import start_lab_process
    from harness.loop import LoopThread
    from harness.peer.rtp_log import decode_logs
    from harness.peer.whip import WhipPeer
    from harness.timeline import Timeline

    out.mkdir(parents=True, exist_ok=True)
    sim = start_lab_process(out / "lab", phones=1, extra_args=["--extensions", "none"])
    try:
        udid = sim.state["phones"][0]["udid"]
        use_usbmuxd(sim.usbmuxd_address)
        with LoopThread() as loop, Timeline(out / "timeline.jsonl") as timeline:
            device = loop.run(Device.open(udid, timeline=timeline))
            loop.run(device.sync_clock())
            peer = WhipPeer(bind="127.0.0.1:0", tokens=["load-0"], record_dir=out / "rec", timeline=timeline,
                            decode_on_exit=False)
            loop.run(peer.start())
            child = subprocess.Popen([sys.executable, str(Path(__file__).parent / "peer_load.py"), "--client",
                                      peer.url, "1", str(seconds + 6), str(out)], stdout=subprocess.PIPE)
            assert child.stdout is not None
            assert child.stdout.readline().strip() == b"connected"
            lateness: list[float] = []
            tick = asyncio.run_coroutine_threadsafe(ticker(lateness), loop.loop)
            time.sleep(2.0)  # the call settles before the log load starts
            if mode == "after":
                stream = loop.run(device.log_stream(dut_log_filter(), raw_path=out / "device-log-raw.txt"))
            else:
                stream = loop.run(device.log_stream(LogFilter(level="debug"), own_thread=False))
            control(sim.control_url, f"/phones/{udid}/log/filler",
                    {"lines_per_s": rate, "processes": FILLER_PROCESSES})
            lines0, t0 = stream.lines, time.monotonic()
            time.sleep(seconds)
            lines, wall = stream.lines - lines0, time.monotonic() - t0
            control(sim.control_url, f"/phones/{udid}/log/filler", {"lines_per_s": 0})
            loop.run(stream.stop(), timeout=60)
            tick.cancel()
            child.wait(60)
            loop.run(peer.stop(), timeout=120)
            loop.run(device.close(), timeout=30)
            on_timeline = stream.count
    finally:
        sim.stop()
    decoded = decode_logs([out / "down-0.rtplog"])
    down = {"rtp": gaps(decoded.rtp, DOWNLINK_SEED), "arrival": gaps(decoded.arrival, DOWNLINK_SEED)}
    late_ms = sorted(x * 1000 for x in lateness)
    return {
        "mode": mode, "rate": rate, "seconds": round(wall, 1),
        "lines_per_s": round(lines / wall), "timeline_lines": on_timeline,
        "loop_stall_ms": {"p50": round(statistics.median(late_ms), 2),
                          "p99": round(late_ms[int(0.99 * (len(late_ms) - 1))], 2),
                          "max": round(late_ms[-1], 1),
                          "over_20ms": sum(x > 20 for x in late_ms),
                          "over_50ms": sum(x > 50 for x in late_ms)},
        "downlink_gaps_ms": down,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=5000.0, help="filler lines per second (default 5000)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of log load per run")
    ap.add_argument("--mode", choices=("after", "before", "both"), default="both")
    ap.add_argument("--runs", type=int, default=1, help="runs per mode (figures: the median run)")
    args = ap.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.runs < 1:
        ap.error("--rate and --seconds must be positive and --runs at least 1")
    modes = ("before", "after") if args.mode == "both" else (args.mode,)
    print(f"cpus={os.cpu_count()} rate={args.rate:.0f} lines/s seconds={args.seconds:.0f} (shared machine: "
          "figures include other load)", flush=True)
    root = Path(tempfile.mkdtemp(prefix="device-log-load-"))
    for mode in modes:
        runs = []
        for i in range(args.runs):
            r = one_run(mode, args.rate, args.seconds, root / f"{mode}-{i}")
            print(json.dumps(r), flush=True)
            runs.append(r)
        med = sorted(runs, key=lambda r: r["loop_stall_ms"]["max"])[len(runs) // 2]
        stall = med["loop_stall_ms"]
        down = med["downlink_gaps_ms"]
        print(f"{mode}: {med['lines_per_s']} lines/s pumped, {med['timeline_lines']} on the timeline; "
              f"peer loop stall p50 {stall['p50']} ms, p99 {stall['p99']} ms, max {stall['max']} ms, "
              f"{stall['over_20ms']} over 20 ms; downlink gaps rtp axis {down['rtp']}, arrival axis "
              f"{down['arrival']} (median run of {len(runs)} by max stall)", flush=True)


if __name__ == "__main__":
    main()
