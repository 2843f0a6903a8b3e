"""``harness probe``: write a probe signal to a WAV file."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "probe", help="write a probe signal (seeded modulated noise) to a WAV file",
        description="Write SECONDS of the probe for SEED as 16-bit WAV. Seeds per direction: "
        "downlink 17484, mouth 19796, other audio 20289.",
    )
    p.add_argument("--seconds", type=float, required=True, help="length in seconds")
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
    from harness.audio.wav import write_wav
    from harness.errors import UsageError

    if not args.seconds > 0:
        raise UsageError(f"--seconds must be positive, not {args.seconds}")
    if args.rate < 8000 or args.rate > 384000:
        raise UsageError(f"--rate must be between 8000 and 384000 Hz, not {args.rate}")
    if args.start < 0:
        raise UsageError(f"--start must not be negative, not {args.start}")
    seed = DOWNLINK_SEED if args.seed is None else args.seed
    x = probe(args.seconds, seed, rate=args.rate, channels=args.channels, band=args.band, start_s=args.start)
    path = write_wav(args.out, x, args.rate)
    print(f"{path}: {args.seconds:g} s probe, seed {seed}, {args.rate} Hz, {args.channels} ch, "
          f"band {args.band}")
    return 0
