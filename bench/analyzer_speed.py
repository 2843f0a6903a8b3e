"""Analyzer speed: multiple of real time on one core for a 10-minute 48 kHz capture.

Run: ``.venv/bin/python bench/analyzer_speed.py [--minutes M] [--opus]``. CPU time is
``time.process_time()`` of ``analyze()`` alone (numpy/scipy pinned to one thread), so a busy machine
changes wall time but not the figure much. The capture: the probe after ~80 ms latency with a lost
and a delayed gap every 30 s and noise at 30 dB SNR (``--opus``: through libopus 32 kbit/s
instead, which takes a while to build). Also reports the naive RMS detector's speed.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from harness.audio.analyze import analyze  # noqa: E402
from harness.audio.corpus import naive_silence_gaps  # noqa: E402
from harness.audio.opus import OpusDecoder, OpusEncoder  # noqa: E402
from harness.audio.probe import DOWNLINK_SEED, probe  # noqa: E402

RATE = 48000


def build(minutes: float, opus: bool) -> tuple[np.ndarray, np.ndarray, int]:
    ref = probe(minutes * 60 + 10, DOWNLINK_SEED)
    src = ref
    if opus:
        enc, dec = OpusEncoder(RATE, 1, 32000), OpusDecoder(RATE, 1)
        src = np.concatenate([dec.decode(p) for p in enc.encode_all(ref)])
    parts, pos, gaps = [np.zeros(3840, np.float32)], 0, 0
    n = int(minutes * 60 * RATE)
    while sum(len(p) for p in parts) < n:
        seg = 30 * RATE
        parts.append(src[pos : pos + seg])
        pos += seg
        parts.append(np.zeros(4800, np.float32))  # 100 ms gap, alternately lost and delayed
        pos += 4800 if gaps % 2 == 0 else 0
        gaps += 1
    cap = np.concatenate(parts)[:n]
    rng = np.random.default_rng(0)
    cap = cap + rng.standard_normal(n).astype(np.float32) * np.float32(10 ** (-48 / 20))
    return cap.astype(np.float32), ref, gaps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--opus", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cap, ref, gaps = build(args.minutes, args.opus)
    seconds = len(cap) / RATE
    best = None
    for _ in range(args.repeat):
        t0, w0 = time.process_time(), time.perf_counter()
        a = analyze(cap, RATE, {"downlink": ref})
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        best = cpu if best is None else min(best, cpu)
        print(f"analyze: {seconds:.0f} s capture in {cpu:.3f} s CPU ({wall:.3f} s wall): "
              f"{seconds / cpu:.0f}x real time; found {len(a.gaps)} gaps (inserted {gaps - 1}+), "
              f"{len(a.glitches)} glitches")
    t0 = time.process_time()
    naive_silence_gaps(cap, RATE)
    naive = time.process_time() - t0
    print(f"best: {seconds / best:.0f}x real time on one core ({best:.3f} s CPU); "
          f"naive RMS detector: {seconds / naive:.0f}x")


if __name__ == "__main__":
    main()
