"""Analyzer accuracy on the seeded impairment corpus, side by side with a naive silence detector.

Run: ``.venv/bin/python bench/analyzer_accuracy.py [--seeds N] [--seconds S] [--nogap-seconds S]``.
Prints per condition: start/end edge error p50/p95/max (ms, absolute), recall and precision of
gaps >= 20 ms, lost/delayed accuracy, the share of 5-20 ms breaks found, latency and level error;
then false gaps on impairment-only captures (clean and Opus-only). The naive detector flags 10 ms
frames under -50 dBFS (runs of >= 20 ms) and cannot tell lost from delayed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness.audio.analyze import analyze
from harness.audio.corpus import (
    CONDITIONS,
    NO_GAP_CONDITIONS,
    CaseScore,
    detections_of,
    levels_of,
    make_case,
    naive_silence_gaps,
    score,
)


def _pct(v: list[float]) -> str:
    if not v:
        return "     -/     -/     -"
    a = np.abs(v)
    return f"{np.percentile(a, 50):6.2f}/{np.percentile(a, 95):6.2f}/{a.max():6.1f}"


def _summary(scores: list[CaseScore]) -> dict[str, str]:
    t = sum(s.true_gaps for s in scores)
    f = sum(s.found for s in scores)
    fp = sum(s.false_gaps for s in scores)
    k = sum(s.kind_right for s in scores)
    st = sum(s.short_true for s in scores)
    sf = sum(s.short_found for s in scores)
    lat = [s.latency_err_ms for s in scores if s.latency_err_ms is not None]
    lev = [e for s in scores for e in s.level_err_db]
    return {
        "start": _pct([e for s in scores for e in s.start_err_ms]),
        "end": _pct([e for s in scores for e in s.end_err_ms]),
        "recall": f"{f}/{t}",
        "precision": f"{f / (f + fp) * 100:5.1f}%" if f + fp else "    -",
        "kind": f"{k}/{f}",
        "short": f"{sf}/{st}",
        "lat": f"{max(lat):5.2f}" if lat else "    -",
        "level": f"{max(lev):5.2f}" if lev else "    -",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--nogap-seconds", type=float, default=600.0)
    ap.add_argument("--conditions", nargs="*", default=list(CONDITIONS))
    args = ap.parse_args()
    hdr = (f"{'condition':<18} {'who':<6} {'start p50/p95/max':>20} {'end p50/p95/max':>20} "
           f"{'recall':>7} {'prec':>6} {'kind':>7} {'5-20ms':>7} {'lat max':>7} {'lvl max':>7}")
    print(hdr)
    print("-" * len(hdr))
    every: list[CaseScore] = []
    for cond in args.conditions:
        ours, naive = [], []
        for seed in range(args.seeds):
            case = make_case(cond, seed, args.seconds)
            a = analyze(case.capture, case.rate, {"probe": case.reference})
            ours.append(score(case, detections_of(a), a.latency_ms, levels_of(a)))
            naive.append(score(case, naive_silence_gaps(case.capture, case.rate)))
        every += ours
        for who, sc in (("ours", ours), ("naive", naive)):
            s = _summary(sc)
            print(f"{cond:<18} {who:<6} {s['start']:>20} {s['end']:>20} {s['recall']:>7} {s['precision']:>6} "
                  f"{s['kind'] if who == 'ours' else '-':>7} {s['short']:>7} "
                  f"{s['lat'] if who == 'ours' else '-':>7} {s['level'] if who == 'ours' else '-':>7}")
    s = _summary(every)
    print(f"{'ALL':<18} {'ours':<6} {s['start']:>20} {s['end']:>20} {s['recall']:>7} {s['precision']:>6} "
          f"{s['kind']:>7} {s['short']:>7} {s['lat']:>7} {s['level']:>7}")
    if args.nogap_seconds <= 0:
        return
    print()
    print(f"False gaps on impairment-only captures ({args.nogap_seconds:.0f} s each):")
    for cond in NO_GAP_CONDITIONS:
        t0 = time.process_time()
        case = make_case(cond, 99, args.nogap_seconds, gaps=False)
        a = analyze(case.capture, case.rate, {"probe": case.reference})
        naive = naive_silence_gaps(case.capture, case.rate)
        jumps = len(a.skips) + len(a.repeats)
        print(f"  {cond:<8} ours: {len(a.gaps)} gaps, {len(a.glitches)} glitches, {jumps} jumps,"
              f" latency err {abs(a.latency_ms - case.latency_ms):.3f} ms | naive: {len(naive)} gaps"
              f"   ({time.process_time() - t0:.1f} s CPU incl. corpus)")


if __name__ == "__main__":
    main()
