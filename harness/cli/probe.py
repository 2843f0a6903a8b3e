"""``harness probe``: write a probe signal to a WAV file."""

from __future__ import annotations

import argparse
import math

MAX_SECONDS = 6 * 3600.0  # a probe longer than a night's call is a typo; written in 60 s blocks anyway
MAX_START_S = 30 * 24 * 3600.0  # probe time of the first sample: up to 30 days in
BLOCK_S = 60


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "probe", help="write a probe signal (seeded modulated noise) to a WAV file",
        description="Write SECONDS of the probe for SEED as 16-bit WAV. Seeds per direction: "
        "downlink 17484, mouth 19796, other audio 20289.",
    )
    p.add_argument("--seconds", type=float, required=True,
                   help=f"length in seconds (at most {MAX_SECONDS:.0f}, i.e. {MAX_SECONDS / 3600:.0f} h)")
    p.add_argument("--out", required=True, help="output WAV path")
    p.add_argument("--seed", type=int, default=None, help="probe seed (default: the downlink seed)")
    p.add_argument("--rate", type=int, default=48000, help="sample rate in Hz (default 48000)")
    p.add_argument("--channels", type=int, choices=(1, 2), default=1, help="1 or 2 (same signal on both)")
    p.add_argument("--band", choices=("voice", "wide"), default="voice",
                   help="voice: 300-3400 Hz (HFP-safe); wide: 100 Hz-12 kHz (A2DP)")
    p.add_argument("--start", type=float, default=0.0, help="probe time of the first sample, seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.audio.probe import DOWNLINK_SEED, probe
    from harness.audio.wav import wav_writer
    from harness.errors import UsageError

    if args.rate < 8000 or args.rate > 384000:
        raise UsageError(f"--rate must be between 8000 and 384000 Hz, not {args.rate}")
    if not math.isfinite(args.seconds) or not 0 < args.seconds <= MAX_SECONDS:
        raise UsageError(f"--seconds must be positive and at most {MAX_SECONDS:.0f}, not {args.seconds}")
    frames = round(args.seconds * args.rate)
    if frames < 1:
        raise UsageError(f"--seconds {args.seconds} is less than one sample at {args.rate} Hz")
    if not math.isfinite(args.start) or not 0 <= args.start <= MAX_START_S:
        raise UsageError(f"--start must be 0 to {MAX_START_S:.0f} seconds, not {args.start}")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise UsageError(f"--seed must be 0 to 2^64-1 (18446744073709551615), not {args.seed}")
    seed = DOWNLINK_SEED if args.seed is None else args.seed
    start = round(args.start * args.rate)
    with wav_writer(args.out, args.rate, args.channels) as w:  # streamed: memory is one block
        for k in range(0, frames, BLOCK_S * args.rate):
            n = min(BLOCK_S * args.rate, frames - k)
            w.write(probe(n / args.rate, seed, rate=args.rate, channels=args.channels, band=args.band,
                          start_s=(start + k) / args.rate))
    path = args.out
    print(f"{path}: {args.seconds:g} s probe, seed {seed}, {args.rate} Hz, {args.channels} ch, "
          f"band {args.band}")
    return 0
