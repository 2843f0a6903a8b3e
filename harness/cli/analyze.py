"""``harness analyze``: align a capture to probe references and report its continuity."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze", help="find gaps, latency, level and echo in a capture against probe references",
        description="Align CAPTURE.wav to each --reference (same sample rate) and print a summary, "
        "or the full result as JSON with --json.",
    )
    p.add_argument("capture", help="the captured WAV file")
    p.add_argument("--reference", action="append", required=True, metavar="R.wav",
                   help="a reference probe WAV (repeat for several directions)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--level-tolerance-db", type=float, default=None, metavar="DB",
                   help="report a level step or dip beyond this many dB without a gap (default 6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    import numpy as np

    from harness.audio.analyze import LEVEL_TOLERANCE_DB, analyze
    from harness.audio.wav import read_wav, truncation
    from harness.errors import UsageError

    tolerance = LEVEL_TOLERANCE_DB if args.level_tolerance_db is None else args.level_tolerance_db
    if not math.isfinite(tolerance) or not 0 < tolerance <= 60:
        raise UsageError(f"--level-tolerance-db must be between 0 and 60 dB, not {args.level_tolerance_db}")
    capture, rate = read_wav(args.capture)
    for path in (args.capture, *args.reference):
        note = truncation(path)
        if note:
            print(f"harness analyze: warning: {note}", file=sys.stderr)
    refs: dict[str, np.ndarray] = {}
    seen: dict[Path, str] = {}
    for path in args.reference:
        real = Path(path).resolve()
        if real in seen:
            raise UsageError(f"--reference {path}: given twice; name each probe once")
        samples, r = read_wav(path)
        if r != rate:
            raise UsageError(f"{path}: sample rate {r} Hz differs from the capture's {rate} Hz; resample it")
        for other, other_samples in refs.items():
            if np.array_equal(other_samples, samples):
                raise UsageError(f"--reference {path}: the same probe as {other!r}; name each probe once")
        name = Path(path).stem
        if name in refs:
            name = str(path)
        refs[name] = samples
        seen[real] = name
    if rate < 8000:
        raise UsageError(f"{args.capture}: sample rate {rate} Hz is below 8000 Hz")
    try:
        result = analyze(capture, rate, refs, level_tolerance_db=tolerance)
    except ValueError as exc:  # a capture or reference that is not audio: the user's file
        raise UsageError(f"{args.capture}: {exc}") from None
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        print()
        return 0
    print(summary(result))
    return 0


def summary(a) -> str:
    """A readable summary of an :class:`~harness.audio.analysis.result.Analysis`."""
    lines = [f"capture {a.duration_s:.3f} s at {a.rate} Hz"]
    for name, ivs in a.presence.items():
        spans = ", ".join(f"{iv.start_s:.3f}-{iv.end_s:.3f}" for iv in ivs) or "absent"
        lines.append(f"  {name}: {spans}")
    if a.reference is None:
        lines.append("no probe found")
        return "\n".join(lines)
    drift = "n/a" if a.drift_ppm is None else f"{a.drift_ppm:.1f} ppm"
    lines.append(f"reference {a.reference}: latency {_ms(a.latency_ms)} ms, drift {drift}, "
                 f"coverage {a.coverage * 100:.2f} %, matched {a.matched_s:.3f} s of {a.expected_s:.3f} s")
    if a.polarity == "inverted":
        lines.append("polarity: inverted (the capture chain flips the signal: a property of the rig, not a "
                     "gap; analysed inverted)")
    if a.nonfinite_samples:
        lines.append(f"warning: {a.nonfinite_samples} NaN or infinite sample(s) in the capture, taken as "
                     "silence")
    if a.unjudged_s > 0.0005:
        lines.append(f"warning: the reference ends {a.duration_s - a.unjudged_s:.3f} s into the capture: "
                     f"the last {a.unjudged_s:.3f} s could not be judged (pass a reference at least as long "
                     "as the capture)")
    lines.append(f"gaps: {len(a.gaps)}")
    for g in a.gaps:
        lines.append(f"  {g.start_s:9.4f}-{g.end_s:9.4f} s  {g.duration_ms:8.1f} ms  {g.kind:<7} "
                     f"lost {g.lost_ms:.1f} ms, added delay {g.added_delay_ms:.1f} ms "
                     f"(edges +/-{g.start_uncertainty_ms:.1f}/{g.end_uncertainty_ms:.1f} ms)")
    for label, items in (("skips", a.skips), ("repeats", a.repeats)):
        if items:
            lines.append(f"{label}: " + ", ".join(f"{j.at_s:.4f} s ({j.jump_ms:+.1f} ms)" for j in items))
    if a.glitches:
        items = ", ".join(f"{g.start_s:.4f} s ({g.duration_ms:.1f} ms)" for g in a.glitches)
        lines.append(f"glitches: {items}")
    if a.level_changes:
        lines.append(f"level changes: {len(a.level_changes)}")
    for c in a.level_changes:
        lines.append(f"  {c.start_s:9.4f}-{c.end_s:9.4f} s  {c.change_db:+.1f} dB  {c.kind}")
    for s in a.segments:
        lines.append(f"  segment {s.start_s:9.4f}-{s.end_s:9.4f} s  level {s.level_db:+.2f} dB "
                     f"({s.level_vs_first_db:+.2f} vs first), latency {_ms(s.latency_ms)} ms, "
                     f"match {s.match:.2f}")
    for e in a.echo:
        if e.median_erl_db is None:
            lines.append(f"echo of {e.reference}: not measurable")
        else:
            verdict = "found" if e.detected else "not found, loss at least"
            lines.append(f"echo of {e.reference}: {verdict} {e.median_erl_db:.1f} dB (median), "
                         f"worst {e.min_erl_db:.1f} dB")
    return "\n".join(lines)


def _ms(value: float) -> str:
    """Two decimals, without a "-0.00" for a latency that rounds to zero."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text
