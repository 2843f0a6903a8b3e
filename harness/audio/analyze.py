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
reference, so it is gap. Absence before the first match and after the last one are gaps too
(``missing-start``, ``missing-end``), and coverage is over the whole capture from where the probe
was due: a call that went silent and never came back is never "100 %". A level step or dip beyond
the tolerance is reported (``level_changes``) even where nothing broke.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.audio.analysis.echo import measure_echo
from harness.audio.analysis.fine import FineTrack, MatchedSpan, fine_track, matched_spans, refine_edge
from harness.audio.analysis.result import Analysis, Echo, Gap, Interval, Jump, LevelChange, Segment
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


SAMPLE_LIMIT = 1e6  # |sample| above this is not audio (a float WAV scaled by mistake)
LEVEL_TOLERANCE_DB = 6.0  # the default level change reported without a gap (harness_level_tolerance_db)
LEVEL_BLOCK_S = 0.1  # level track resolution
LEVEL_MIN_S = 0.2  # a level change shorter than this is not reported
INVERT_TRY_BELOW = 0.9  # try the inverted capture when less than this share of it matched
INVERT_MARGIN = 2.0  # the inverted capture must match this many times more to be taken as inverted
INVERT_MIN_S = 0.5  # ...and at least this long: a few spurious windows never flip a capture


def _validate(capture: np.ndarray, rate: int, references: Mapping[str, np.ndarray]) -> None:
    if not isinstance(rate, (int, np.integer)) or rate < 8000:
        raise ValueError(f"rate must be an integer of at least 8000 Hz, not {rate!r}")
    if np.asarray(capture).size == 0:
        raise ValueError("the capture holds no samples")
    for name, ref in references.items():
        r = np.asarray(ref)
        if r.size == 0:
            raise ValueError(f"reference {name!r} holds no samples")
        bad = int(np.count_nonzero(~np.isfinite(r)))
        if bad:
            raise ValueError(f"reference {name!r} holds {bad} NaN or infinite sample(s): it is not a probe; "
                             "write it again with `harness probe`")
        if float(np.max(np.abs(r))) > SAMPLE_LIMIT:
            raise ValueError(f"reference {name!r} has samples beyond +/-{SAMPLE_LIMIT:g}: "
                             "not audio in [-1, 1]")


def _finite(y: np.ndarray) -> tuple[np.ndarray, int]:
    """The capture with NaN/inf samples silenced (a broken stretch, not a reason to see no probe)."""
    bad = ~np.isfinite(y)
    n = int(np.count_nonzero(bad))
    if n:
        y = np.where(bad, np.float32(0.0), y).astype(np.float32)
    if float(np.max(np.abs(y), initial=0.0)) > SAMPLE_LIMIT:
        raise ValueError(f"the capture has samples beyond +/-{SAMPLE_LIMIT:g}: not audio in [-1, 1] "
                         "(a float WAV scaled by mistake?)")
    return y, n


def _align(y_w: np.ndarray, refs: dict[str, Reference], d: int, fw: float) -> dict[str, _Aligned]:
    aligned: dict[str, _Aligned] = {}
    for name, ref in refs.items():
        tracker = Tracker(y_w, ref, d, fw)
        runs = tracker.track()
        ft = fine_track(y_w, ref, d, fw, runs, tracker.B)
        aligned[name] = _Aligned(tracker, runs, ft, matched_spans(ft))
    return aligned


def _matched(aligned: dict[str, _Aligned]) -> int:
    return sum(a.matched_hops for a in aligned.values())


def _mostly_unmatched(aligned: dict[str, _Aligned]) -> bool:
    """Worth trying the inverted capture: the best reference matched less than most of the capture
    from its first match on (a clean capture in the right polarity never pays for the second pass)."""
    best = max(aligned.values(), key=lambda a: a.matched_hops, default=None)
    if best is None or not best.spans:
        return True
    rest = len(best.ft.ncc) - best.spans[0].i0
    return best.matched_hops < INVERT_TRY_BELOW * max(rest, 1)


def analyze(
    capture: np.ndarray, rate: int, references: Mapping[str, np.ndarray], *, echo: bool = True,
    level_tolerance_db: float = LEVEL_TOLERANCE_DB,
) -> Analysis:
    """Align ``capture`` to each reference (same rate) and measure its continuity.

    A capture whose chain inverts the signal (balanced-to-unbalanced adapters, some USB codecs,
    inverting preamps) is analysed inverted and reported with ``polarity="inverted"``: a property of
    the rig, never a gap. NaN/inf capture samples count as silence (``nonfinite_samples``).
    """
    _validate(capture, rate, references)
    rate = int(rate)
    with np.errstate(all="ignore"):
        y, nonfinite = _finite(to_mono(capture))
        d = decimation_for(rate)
        fw = rate / d
        y_w = decimate(y, d)
        refs = {name: Reference.prepare(name, samples, d) for name, samples in references.items()}
        aligned = _align(y_w, refs, d, fw)
        polarity = "normal"
        if _mostly_unmatched(aligned):
            flipped = _align(-y_w, refs, d, fw)
            hop_s = next(iter(flipped.values())).ft.hop / fw if flipped else 1.0
            more = _matched(flipped) > INVERT_MARGIN * _matched(aligned)
            if more and _matched(flipped) * hop_s >= INVERT_MIN_S:
                y, aligned, polarity = -y, flipped, "inverted"
        return _measure(y, rate, d, aligned, refs, echo, level_tolerance_db, polarity, nonfinite)


def _measure(y: np.ndarray, rate: int, d: int, aligned: dict[str, _Aligned], refs: dict[str, Reference],
             echo: bool, tolerance_db: float, polarity: str, nonfinite: int) -> Analysis:
    presence = {name: _presence(a, d, rate) for name, a in aligned.items()}
    primary = max(aligned, key=lambda k: aligned[k].matched_hops, default=None)
    duration = len(y) / rate
    if primary is None or aligned[primary].matched_hops == 0:
        return Analysis(rate, duration, None, None, None, 0.0, 0.0, presence, [], [], [], [], [], [],
                        nonfinite_samples=nonfinite)

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
    head, tail, expected_from, judged_to = _absence(primary, a, edges, len(y), len(refs[primary].full), rate)
    gaps = [*head, *gaps, *tail]
    matched = sum(max(0.0, e[1] - e[0]) for e in edges) / rate
    expected = (len(y) - expected_from) / rate
    return Analysis(
        rate=rate,
        duration_s=duration,
        reference=primary,
        latency_ms=segments[0].latency_ms if segments else None,
        drift_ppm=_drift_ppm(a.runs, d),
        coverage=float(min(1.0, matched / expected)) if expected > 0 else 1.0,
        matched_s=matched,
        presence=presence,
        gaps=gaps,
        skips=skips,
        repeats=repeats,
        glitches=glitches,
        segments=segments,
        echo=echoes,
        level_changes=_level_changes(primary, a, edges, rate, tolerance_db),
        polarity=polarity,
        expected_s=expected,
        unjudged_s=max(0.0, (len(y) - judged_to) / rate),
        nonfinite_samples=nonfinite,
    )


def _absence(name: str, a: _Aligned, edges, n: int, ref_len: int, rate: int):
    """Leading and trailing absence as gaps, where the probe was due but never matched.

    The probe is due from the capture position of the reference's sample 0 (``-lag`` at the first
    match; a capture that starts inside the probe is due from its own start) and until the capture
    ends, or the reference does (``ref_len - lag`` at the last match), whichever is first. Returns
    (head gaps, tail gaps, first due sample, last judged sample).
    """
    s0, e_last = edges[0][0], edges[-1][1]
    lag0 = float(a.runs[a.spans[0].run].lag_at(float(s0)))
    lag1 = float(a.runs[a.spans[-1].run].lag_at(float(e_last)))
    due_from = int(min(max(0.0, -lag0), s0))
    ref_end = int(max(e_last, min(n, ref_len - lag1)))
    ms = 1000.0 / rate
    head: list[Gap] = []
    tail: list[Gap] = []
    if (s0 - due_from) * ms >= GAP_MS:
        dur = (s0 - due_from) * ms
        head.append(Gap(due_from / rate, s0 / rate, dur, "missing-start", dur, 0.0, 0.0, edges[0][2] * ms,
                        name))
    if (ref_end - e_last) * ms >= GAP_MS:
        dur = (ref_end - e_last) * ms
        tail.append(Gap(e_last / rate, ref_end / rate, dur, "missing-end", dur, 0.0, edges[-1][3] * ms, 0.0,
                        name))
    return head, tail, due_from, max(ref_end, int(min(n, ref_len - lag1)))


def _level_changes(name: str, a: _Aligned, edges, rate: int, tolerance_db: float) -> list[LevelChange]:
    """Stretches of matched audio whose level left the level of the first matched second by more
    than ``tolerance_db``: a drop the codec or the app made without a break is still reported."""
    d, h = a.tracker.d, a.ft.hop
    hop_s = h * d / rate
    per = max(1, round(LEVEL_BLOCK_S / hop_s))
    gain = a.tracker.ref.work_gain
    blocks: list[tuple[float, float, float]] = []  # (start s, end s, level dB)
    for j, span in enumerate(a.spans):
        h0 = int(np.ceil(edges[j][0] / d / h))
        h1 = int(edges[j][1] // d // h)
        for b in range(h0, h1, per):
            b1 = min(h1, b + per)
            if b1 - b < per // 2:
                continue
            ey, ex = a.ft.level_sums(span.run, b, b1)
            if ex <= 0:
                continue
            blocks.append((b * hop_s, b1 * hop_s, 10 * float(np.log10((ey + 1e-20) / (ex * gain + 1e-20)))))
    if len(blocks) < 2:
        return []
    first = [lv for s, _, lv in blocks if s < blocks[0][0] + 1.0]
    base = float(np.median(first))
    off = [abs(lv - base) > tolerance_db for _, _, lv in blocks]
    out: list[LevelChange] = []
    i = 0
    while i < len(blocks):
        if not off[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(blocks) and off[j + 1] and (blocks[j + 1][2] > base) == (blocks[i][2] > base):
            j += 1
        start, end = blocks[i][0], blocks[j][1]
        if end - start >= LEVEL_MIN_S - 1e-9:
            change = float(np.median([lv for _, _, lv in blocks[i:j + 1]])) - base
            kind = "step" if j == len(blocks) - 1 else ("dip" if change < 0 else "rise")
            out.append(LevelChange(start, end, change, kind, name))
        i = j + 1
    return out


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
