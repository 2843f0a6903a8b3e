"""The continuity analyzer: align a capture to known probes and say where audio stopped.

``analyze(capture, rate, {"downlink": ref, ...})`` runs, per reference: lag tracking in 50 ms
blocks (:mod:`harness.audio.analysis.track`), 10 ms/1 ms NCC windows along each run and
sample-accurate change-point edges (:mod:`harness.audio.analysis.fine`). The reference present
longest is the *primary*: gaps, skips, repeats, glitches, segments, latency and drift are about it;
every reference gets presence intervals; the others get an echo measurement (:mod:`...echo`).

Per break between two matched spans A and B (edges ``e`` = end of A, ``s`` = start of B, lags
``L = reference sample - capture sample``): duration ``D = s - e``; added delay ``L_A - L_B``
(exact: it comes from clean alignment on both sides); lost audio ``D + L_B - L_A``. A break of
20 ms or more is a gap (``delayed`` if more than half of it is added delay, else ``lost``); a
lag jump with (almost) no unmatched time is a skip (forward) or repeat; anything shorter is a
glitch. Whatever fills a gap (silence, concealment, comfort noise, ringing) does not match the
reference, so it is gap.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.audio.analysis.echo import measure_echo
from harness.audio.analysis.fine import FineTrack, MatchedSpan, fine_track, matched_spans, refine_edge
from harness.audio.analysis.result import Analysis, Echo, Gap, Interval, Jump, Segment
from harness.audio.analysis.signals import Reference, decimate, decimation_for, to_mono
from harness.audio.analysis.track import Run, Tracker

GAP_MS = 20.0  # breaks at least this long are gaps; shorter ones are glitches
JUMP_MS = 0.25  # smallest lag jump reported as a skip or repeat
PRESENCE_MERGE_MS = 20.0

__all__ = ["Analysis", "analyze"]


class _Aligned:
    """One reference's alignment against the capture."""

    def __init__(self, tracker: Tracker, runs: list[Run], ft: FineTrack, spans: list[MatchedSpan]) -> None:
        self.tracker, self.runs, self.ft, self.spans = tracker, runs, ft, spans

    @property
    def matched_hops(self) -> int:
        return sum(s.i1 - s.i0 for s in self.spans)


def _validate(capture: np.ndarray, rate: int, references: Mapping[str, np.ndarray]) -> None:
    if not isinstance(rate, (int, np.integer)) or rate < 8000:
        raise ValueError(f"rate must be an integer of at least 8000 Hz, not {rate!r}")
    if np.asarray(capture).size == 0:
        raise ValueError("the capture holds no samples")
    for name, ref in references.items():
        if np.asarray(ref).size == 0:
            raise ValueError(f"reference {name!r} holds no samples")


def analyze(
    capture: np.ndarray, rate: int, references: Mapping[str, np.ndarray], *, echo: bool = True
) -> Analysis:
    """Align ``capture`` to each reference (same rate) and measure its continuity."""
    _validate(capture, rate, references)
    rate = int(rate)
    y = to_mono(capture)
    d = decimation_for(rate)
    fw = rate / d
    y_w = decimate(y, d)
    aligned: dict[str, _Aligned] = {}
    for name, samples in references.items():
        ref = Reference.prepare(name, samples, d)
        tracker = Tracker(y_w, ref, d, fw)
        runs = tracker.track()
        ft = fine_track(y_w, ref, d, fw, runs, tracker.B)
        aligned[name] = _Aligned(tracker, runs, ft, matched_spans(ft))

    presence = {name: _presence(a, d, rate) for name, a in aligned.items()}
    primary = max(aligned, key=lambda k: aligned[k].matched_hops, default=None)
    if primary is None or aligned[primary].matched_hops == 0:
        return Analysis(rate, len(y) / rate, None, None, None, 0.0, 0.0, presence, [], [], [], [], [], [])

    a = aligned[primary]
    edges = _edges(y, a, d, rate)
    result = _breaks(primary, a, edges, rate)
    presence[primary] = _merge([Interval(e[0] / rate, e[1] / rate) for e in edges])
    echoes: list[Echo] = []
    if echo and len(aligned) > 1:
        residual = _residual(a, edges)
        for name, other in aligned.items():
            if name != primary:
                echoes.append(measure_echo(other.tracker, other.runs, rate, residual))
    gaps, skips, repeats, glitches, segments = result
    matched = sum(max(0.0, e[1] - e[0]) for e in edges) / rate
    span = (edges[-1][1] - edges[0][0]) / rate
    return Analysis(
        rate=rate,
        duration_s=len(y) / rate,
        reference=primary,
        latency_ms=segments[0].latency_ms if segments else None,
        drift_ppm=_drift_ppm(a.runs, d),
        coverage=float(min(1.0, matched / span)) if span > 0 else 1.0,
        matched_s=matched,
        presence=presence,
        gaps=gaps,
        skips=skips,
        repeats=repeats,
        glitches=glitches,
        segments=segments,
        echo=echoes,
    )


def _coarse(a: _Aligned, span: MatchedSpan, d: int) -> tuple[int, int]:
    h, W = a.ft.hop, a.ft.win
    return int((span.i0 * h + W / 2) * d), int(((span.i1 - 1) * h + W / 2) * d)


def _edges(y: np.ndarray, a: _Aligned, d: int, rate: int) -> list[tuple[int, int, float, float]]:
    """Refined (start, end, start uncertainty, end uncertainty) in full-rate samples, per span."""
    W = a.ft.win * d
    ctx = int(0.06 * rate)
    coarse = [_coarse(a, s, d) for s in a.spans]
    x = a.tracker.ref.full
    out: list[tuple[int, int, float, float]] = []
    for j, (span, (cs, ce)) in enumerate(zip(a.spans, coarse, strict=True)):
        run = a.runs[span.run]
        lo = cs - int(1.5 * W)
        if j > 0:
            lo = max(lo, min(coarse[j - 1][1], cs) - W // 2)
        hi = min(cs + int(1.5 * W), max(ce, cs + 1))
        s = refine_edge(y, x, run, lo, hi, rate, end=False, beta_from=(cs + W, min(ce, cs + W + ctx)))
        lo = max(ce - int(1.5 * W), cs)
        hi = ce + int(1.5 * W)
        if j + 1 < len(a.spans):
            hi = min(hi, max(coarse[j + 1][0], ce) + W // 2)
        e = refine_edge(y, x, run, lo, hi, rate, end=True, beta_from=(max(cs, ce - W - ctx), ce - W))
        out.append((int(s.sample), int(e.sample), s.uncertainty, e.uncertainty))
    return out


def _breaks(name: str, a: _Aligned, edges: list[tuple[int, int, float, float]], rate: int):
    ms = 1000.0 / rate
    gaps: list[Gap] = []
    skips: list[Jump] = []
    repeats: list[Jump] = []
    glitches: list[Gap] = []
    seg_bounds: list[tuple[int, int]] = [(0, 0)]  # span index ranges [first, last]
    for j in range(1, len(a.spans)):
        ra, rb = a.runs[a.spans[j - 1].run], a.runs[a.spans[j].run]
        e, s = edges[j - 1][1], edges[j][0]
        la = float(ra.lag_at(float(e)))
        lb = float(rb.lag_at(float(s)))
        jump = (lb - la) * ms  # > 0: content jumped ahead
        dur = max(0.0, (s - e) * ms)
        unc_s, unc_e = edges[j][2] * ms, edges[j - 1][3] * ms
        hard = True
        if dur >= GAP_MS:
            delay = -jump
            kind = "delayed" if delay > dur / 2 else "lost"
            gaps.append(Gap(e / rate, s / rate, dur, kind, dur + jump, delay, unc_e, unc_s, name))
        elif abs(jump) >= JUMP_MS and dur < max(2.0, abs(jump) / 4):  # (almost) no unmatched time
            (skips if jump > 0 else repeats).append(Jump((e + s) / 2 / rate, jump, name))
        elif dur > 0 or abs(jump) >= JUMP_MS:
            kind = "delayed" if -jump > dur / 2 else "lost"
            glitches.append(Gap(e / rate, s / rate, dur, kind, dur + jump, -jump, unc_e, unc_s, name))
            hard = False
        else:
            hard = False
        if hard:
            seg_bounds[-1] = (seg_bounds[-1][0], j - 1)
            seg_bounds.append((j, j))
        else:
            seg_bounds[-1] = (seg_bounds[-1][0], j)
    seg_bounds[-1] = (seg_bounds[-1][0], len(a.spans) - 1)
    segments = _segments(name, a, edges, seg_bounds, rate)
    return gaps, skips, repeats, glitches, segments


def _segments(name: str, a: _Aligned, edges, bounds, rate: int) -> list[Segment]:
    d, h = a.tracker.d, a.ft.hop
    out: list[Segment] = []
    first_level: float | None = None
    for j0, j1 in bounds:
        sy = sx = 0.0
        for j in range(j0, j1 + 1):
            h0 = int(np.ceil(edges[j][0] / d / h))
            h1 = int(edges[j][1] // d // h)
            ey, ex = a.ft.level_sums(a.spans[j].run, h0, h1)
            sy += ey
            sx += ex
        level = 10 * np.log10((sy + 1e-20) / (sx * a.tracker.ref.work_gain + 1e-20))
        if first_level is None:
            first_level = level
        i0, i1 = a.spans[j0].i0, a.spans[j1].i1
        run0 = a.runs[a.spans[j0].run]
        start, end = edges[j0][0], edges[j1][1]
        out.append(Segment(
            start_s=start / rate, end_s=end / rate,
            latency_ms=-float(run0.lag_at(float(start))) / rate * 1000.0,
            level_db=float(level), level_vs_first_db=float(level - first_level),
            match=float(np.median(a.ft.ncc[i0:i1])), reference=name,
        ))
    return out


def _residual(a: _Aligned, edges) -> np.ndarray:
    """The capture (working rate) minus the primary probe's least-squares fit per matched span."""
    tr = a.tracker
    d, lp = tr.d, tr.ref.lp
    res = tr.y.astype(np.float32).copy()
    for span, (s, e, _, _) in zip(a.spans, edges, strict=True):
        run = a.runs[span.run]
        k0, k1 = int(np.ceil(s / d)), min(len(res), int(e // d))
        if k1 - k0 < 16:
            continue
        k = np.arange(k0, k1, dtype=np.int64)
        idx = d * k + np.rint(run.lag_at((k * d).astype(np.float64))).astype(np.int64)
        valid = (idx >= 0) & (idx < len(lp))
        xv = lp[np.clip(idx, 0, len(lp) - 1)] * valid
        beta = float(np.dot(res[k0:k1], xv) / (np.dot(xv, xv) + 1e-20))
        res[k0:k1] -= beta * xv
    return res


def _presence(a: _Aligned, d: int, rate: int) -> list[Interval]:
    ivs = []
    for s in a.spans:
        cs, ce = _coarse(a, s, d)
        ivs.append(Interval(max(0.0, (cs - a.ft.win * d / 2) / rate), (ce + a.ft.win * d / 2) / rate))
    return _merge(ivs)


def _merge(ivs: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for iv in sorted(ivs, key=lambda v: v.start_s):
        if out and iv.start_s - out[-1].end_s < PRESENCE_MERGE_MS / 1000:
            out[-1] = Interval(out[-1].start_s, max(out[-1].end_s, iv.end_s))
        else:
            out.append(iv)
    return out


def _drift_ppm(runs: list[Run], d: int) -> float | None:
    num = den = 0.0
    for r in runs:
        span = r.span_samples
        if span >= 2.0 * 8000 * d and len(r.t) >= 3:
            num += r.slope * span
            den += span
    return -num / den * 1e6 if den > 0 else None
