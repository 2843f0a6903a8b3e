"""Lag tracking: where in the reference is each 50 ms block of the capture?

The tracker walks the capture in 50 ms blocks at the working rate, but evaluates whole
horizons (up to 5 s of blocks) per numpy call at the lag its current *run* predicts, so a clean
capture costs a few hundred vectorised calls, not one Python step per block. A run is one
continuous alignment: anchors ``(capture sample, lag)`` refined to a fraction of a full-rate
sample, linearly interpolated (clock drift and time-stretching move the lag slowly). When a block
stops matching, the tracker first tries a small lag correction (drift); if that fails the run
ends (a gap, skip or repeat starts there) and acquisition looks for the probe again: the same lag
later on (a *lost* gap), any lag within +/-3 s (a *delayed* gap, skips, repeats), and finally the
whole reference at ~2 kHz, backing off exponentially over stretches without probe so a capture
that holds no probe at all stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

from harness.audio.analysis.signals import SEARCH_DECIMATION, Reference

BLOCK_S = 0.05
THRESHOLD = 0.35  # block NCC (50 ms at ~8 kHz: noise sigma ~0.06)
SEARCH_THRESHOLD = 0.3  # NCC of a partial match in a 1 s local search
GLOBAL_THRESHOLD = 0.12  # NCC at ~2 kHz over a span of up to 8 s; candidates are verified anyway
LOCAL_SEARCH_STEPS_S = (0.5, 3.0)  # lag changes searched around the last lag, narrow first
ACQUIRE_SPAN_S = 1.0
GLOBAL_SPAN_MAX_S = 8.0
HORIZON_MAX_BLOCKS = 100
DRIFT_PPM_MAX = 300.0


@dataclass
class Run:
    """One continuous alignment: the lag (full-rate samples) as a function of the capture sample."""

    start_b: int
    end_b: int
    t: list[float] = field(default_factory=list)  # full-rate capture samples of the anchors
    lag: list[float] = field(default_factory=list)

    def add_anchor(self, t: float, lag: float) -> None:
        if self.t and t <= self.t[-1]:
            self.t[-1], self.lag[-1] = t, lag
            return
        self.t.append(t)
        self.lag.append(lag)

    def lag_at(self, t: np.ndarray | float) -> np.ndarray:
        """Piecewise-linear through the anchors; beyond them the run's mean slope continues."""
        ts, ls = np.asarray(self.t), np.asarray(self.lag)
        tt = np.asarray(t, dtype=np.float64)
        if len(ts) == 1:
            return np.full_like(tt, ls[0], dtype=np.float64)
        slope = self.slope
        out = np.interp(tt, ts, ls)
        out = np.where(tt < ts[0], ls[0] + slope * (tt - ts[0]), out)
        return np.where(tt > ts[-1], ls[-1] + slope * (tt - ts[-1]), out)

    @property
    def slope(self) -> float:
        """d(lag)/d(capture sample), least squares over the anchors (0 for one anchor)."""
        if len(self.t) < 2:
            return 0.0
        ts, ls = np.asarray(self.t), np.asarray(self.lag)
        tc = ts - ts.mean()
        den = float(np.dot(tc, tc))
        return float(np.dot(tc, ls - ls.mean()) / den) if den > 0 else 0.0

    @property
    def span_samples(self) -> float:
        return self.t[-1] - self.t[0] if self.t else 0.0


class Tracker:
    def __init__(self, y_work: np.ndarray, ref: Reference, d: int, work_rate: float) -> None:
        self.y, self.ref, self.d, self.fw = y_work, ref, d, work_rate
        self.B = max(8, round(BLOCK_S * work_rate))
        self.nb = len(y_work) // self.B
        yb = y_work[: self.nb * self.B].reshape(self.nb, self.B).astype(np.float64)
        self.ey = np.einsum("ij,ij->i", yb, yb)
        self.silent = self.ey <= 1e-10 * self.B

    # -- primitives ---------------------------------------------------------------------------
    def center(self, b: np.ndarray | int) -> np.ndarray:
        """Full-rate capture sample at the middle of block(s) b."""
        return (np.asarray(b, dtype=np.float64) * self.B + self.B / 2) * self.d

    def block_ncc(self, b0: int, b1: int, lags: np.ndarray) -> np.ndarray:
        """NCC of blocks [b0, b1) with the reference at integer full-rate ``lags`` (one per block)."""
        B, d, lp = self.B, self.d, self.ref.lp
        k = np.arange(b0 * B, b1 * B, dtype=np.int64)
        idx = d * k + np.repeat(np.asarray(lags, dtype=np.int64), B)
        valid = (idx >= 0) & (idx < len(lp))
        xv = lp[np.clip(idx, 0, len(lp) - 1)] * valid
        yv = self.y[b0 * B : b1 * B]
        dot = (yv * xv).reshape(-1, B).sum(axis=1, dtype=np.float64)
        ex = (xv * xv).reshape(-1, B).sum(axis=1, dtype=np.float64)
        return dot / np.sqrt(self.ey[b0:b1] * ex + 1e-20)

    def refine(self, b: int, lag: float, radius: int, nblocks: int = 1) -> tuple[float, float]:
        """Best full-rate lag within ``lag +/- radius`` for blocks [b, b + nblocks), sub-sample."""
        B, d, lp = self.B, self.d, self.ref.lp
        b1 = min(self.nb, b + nblocks)
        k = np.arange(b * B, b1 * B, dtype=np.int64)
        cand = round(lag) + np.arange(-radius, radius + 1, dtype=np.int64)
        idx = d * k[None, :] + cand[:, None]
        valid = (idx >= 0) & (idx < len(lp))
        xv = lp[np.clip(idx, 0, len(lp) - 1)] * valid
        yv = self.y[b * B : b1 * B]
        dot = xv @ yv.astype(np.float32)
        ex = np.einsum("ij,ij->i", xv, xv)
        ey = float(self.ey[b:b1].sum())
        ncc = dot / np.sqrt(ey * ex + 1e-20)
        i = int(np.argmax(ncc))
        frac = 0.0
        if 0 < i < len(ncc) - 1:
            a, c, e = ncc[i - 1], ncc[i], ncc[i + 1]
            den = a - 2 * c + e
            if den < 0:
                frac = float(np.clip(0.5 * (a - e) / den, -0.5, 0.5))
        return float(cand[i] + frac), float(ncc[i])

    def local_search(self, b: int, nblocks: int, lag: float, span_s: float, top: int = 3) -> list[float]:
        """Candidate full-rate lags within ``lag +/- span_s`` for blocks [b, b + nblocks) (FFT)."""
        B, d = self.B, self.d
        xw = self.ref.work
        yv = self.y[b * B : (b + nblocks) * B]
        n = len(yv)
        s = int(span_s * self.fw)
        lw0 = int(np.floor(lag / d)) - s
        lw1 = int(np.ceil(lag / d)) + s
        r0, r1 = b * B + lw0, b * B + lw1 + n
        c0, c1 = max(0, r0), min(len(xw), r1)
        if c1 - c0 < n // 4 or not np.any(yv):
            return []
        # beyond the reference's ends it is silent (a capture may start before the probe does)
        seg = np.concatenate([np.zeros(c0 - r0, np.float32), xw[c0:c1], np.zeros(r1 - c1, np.float32)])
        corr = sps.correlate(seg, yv, mode="valid", method="fft")
        cx = np.concatenate([[0.0], np.cumsum(seg.astype(np.float64) ** 2)])
        ex = cx[n:] - cx[:-n]
        floor = 0.05 * n * float(np.mean(xw[c0:c1].astype(np.float64) ** 2))  # mostly off the reference
        ncc = np.where(ex > floor, corr / np.sqrt(float(np.dot(yv, yv)) * ex + 1e-20), 0.0)
        lags_w = (r0 - b * B) + np.arange(len(ncc))
        sep = max(2, int(0.002 * self.fw))
        return [float(d * lags_w[i]) for i in _peaks(ncc, SEARCH_THRESHOLD * 0.6, top, sep)]

    def global_search(self, b: int, nblocks: int, top: int = 4) -> list[float]:
        """Candidate lags anywhere in the reference for blocks [b, b + nblocks) (at ~2 kHz)."""
        B, d, q = self.B, self.d, SEARCH_DECIMATION
        yv = self.y[b * B : (b + nblocks) * B]
        if not np.any(yv):
            return []
        ys = sps.resample_poly(yv, 1, q).astype(np.float32)
        xs = self.ref.search
        n = len(ys)
        if len(xs) < 16 or n < 16:
            return []
        corr = sps.correlate(xs, ys, mode="full", method="fft")  # corr[j]: shift j - (n - 1)
        xpad = np.concatenate([np.zeros(n - 1), xs.astype(np.float64), np.zeros(n - 1)])
        cx = np.concatenate([[0.0], np.cumsum(xpad**2)])
        ex = cx[n:] - cx[:-n]
        floor = 0.05 * n * float(np.mean(xs.astype(np.float64) ** 2))
        ncc = np.where(ex > floor, corr / np.sqrt(float(np.dot(ys, ys)) * ex + 1e-20), 0.0)
        shifts = np.arange(len(ncc)) - (n - 1)  # span sample i <-> reference search sample i + shift
        # span sample i is working sample b*B + q*i; reference search sample m is working q*m
        return [float(d * (q * shifts[i] - b * B)) for i in _peaks(ncc, GLOBAL_THRESHOLD, top, sep=8)]

    # -- the walk -----------------------------------------------------------------------------
    def _verify(self, b0: int, b1: int, lag: float, radius: int = 0) -> tuple[int, float] | None:
        """First block in [b0, b1) matching near ``lag`` (searched +/- radius, then refined)."""
        B, d, lp = self.B, self.d, self.ref.lp
        step = 1 if radius <= 8 else 2
        cands = round(lag) + np.arange(-radius, radius + 1, step, dtype=np.int64)
        k = np.arange(b0 * B, b1 * B, dtype=np.int64)
        idx = d * k[None, :] + cands[:, None]
        valid = (idx >= 0) & (idx < len(lp))
        xv = lp[np.clip(idx, 0, len(lp) - 1)] * valid
        yv = self.y[b0 * B : b1 * B]
        nb = b1 - b0
        dot = (xv * yv[None, :]).reshape(len(cands), nb, B).sum(axis=2, dtype=np.float64)
        ex = (xv * xv).reshape(len(cands), nb, B).sum(axis=2, dtype=np.float64)
        ncc = dot / np.sqrt(self.ey[None, b0:b1] * ex + 1e-20)
        ok = ncc >= THRESHOLD
        if not ok.any():
            return None
        first = np.where(ok.any(axis=0))[0][0]  # the earliest block matching at any candidate lag
        c = int(np.argmax(np.where(ok[:, first], ncc[:, first], -1.0)))
        j = b0 + int(first)
        lag2, q = self.refine(j, float(cands[c]), step + 1)
        return (j, lag2) if q >= THRESHOLD else None

    def _acquire(self, b: int, last: Run | None, global_span: int) -> tuple[int, float] | None:
        span = max(1, round(ACQUIRE_SPAN_S / BLOCK_S))
        b1 = min(self.nb, b + span)
        found: list[tuple[int, float]] = []
        if last is not None:
            pred = float(last.lag_at(self.center(b)))
            v = self._verify(b, b1, pred, 2)
            if v:
                found.append(v)
            for span_s in LOCAL_SEARCH_STEPS_S:  # a narrow search first: it is 6x cheaper
                for cand in self.local_search(b, b1 - b, pred, span_s):
                    v = self._verify(b, b1, cand, self.d)
                    if v:
                        found.append(v)
                if found:
                    break
        if not found and last is None:
            # most captures start within a few seconds of the reference: look there before
            # searching the whole reference
            for cand in self.local_search(b, b1 - b, 0.0, LOCAL_SEARCH_STEPS_S[-1]):
                v = self._verify(b, b1, cand, self.d)
                if v:
                    found.append(v)
        if not found and global_span:
            g1 = min(self.nb, b + global_span)
            for cand in self.global_search(b, g1 - b):
                v = self._verify(b, g1, cand, self.d * SEARCH_DECIMATION * 3 // 2)
                if v:
                    found.append(v)
        if not found:
            return None
        return min(found, key=lambda v: v[0])

    def track(self) -> list[Run]:
        runs: list[Run] = []
        cur: Run | None = None
        last: Run | None = None
        b = 0
        horizon = 4
        backoff = 1  # global search span in acquisition spans (grows while nothing is found)
        acq = max(1, round(ACQUIRE_SPAN_S / BLOCK_S))
        gmax = max(1, round(GLOBAL_SPAN_MAX_S / BLOCK_S))
        next_global = 0
        while b < self.nb:
            if cur is None:
                while b < self.nb and self.silent[b]:
                    b += 1
                if b >= self.nb:
                    break
                gspan = min(gmax, backoff * acq) if b >= next_global else 0
                got = self._acquire(b, last, gspan)
                if got is None:
                    if gspan:
                        next_global = b + gspan
                        backoff = min(backoff * 2, gmax // acq or 1)
                    b += gspan if gspan else acq
                    continue
                j, lag = got
                backoff, next_global = 1, 0
                cur = Run(start_b=j, end_b=j + 1)
                cur.add_anchor(float(self.center(j)), lag)
                b, horizon = j + 1, 4
                continue
            h = min(horizon, self.nb - b)
            lags = np.rint(cur.lag_at(self.center(np.arange(b, b + h)))).astype(np.int64)
            ncc = self.block_ncc(b, b + h, lags)
            bad = np.flatnonzero(ncc < THRESHOLD)
            if bad.size == 0:
                j = b + h - 1
                lag, c = self.refine(j, float(cur.lag_at(self.center(j))), 3)
                if c >= THRESHOLD:
                    cur.add_anchor(float(self.center(j)), lag)
                b += h
                cur.end_b = b
                horizon = min(2 * horizon, HORIZON_MAX_BLOCKS)
                continue
            j = b + int(bad[0])
            if j > b:
                lag, c = self.refine(j - 1, float(cur.lag_at(self.center(j - 1))), 2)
                if c >= THRESHOLD:
                    cur.add_anchor(float(self.center(j - 1)), lag)
            # a failing block: drift (a small lag correction) or a break?
            elapsed = float(self.center(j)) - cur.t[-1]
            radius = int(min(24, 3 + DRIFT_PPM_MAX * 1e-6 * elapsed))
            lag, c = self.refine(j, float(cur.lag_at(self.center(j))), radius)
            if c >= THRESHOLD + 0.1 and not self.silent[j]:
                cur.add_anchor(float(self.center(j)), lag)
                b, cur.end_b, horizon = j + 1, j + 1, 4
                continue
            cur.end_b = j
            runs.append(cur)
            last, cur = cur, None
            b = j
        if cur is not None:
            cur.end_b = min(cur.end_b, self.nb)
            runs.append(cur)
        return runs


def _peaks(v: np.ndarray, threshold: float, top: int, sep: int) -> list[int]:
    """Indices of up to ``top`` highest values >= threshold, at least ``sep`` apart."""
    out: list[int] = []
    if len(v) == 0:
        return out
    k = min(len(v), max(top * 50, 200))
    idx = np.argpartition(v, len(v) - k)[len(v) - k:]
    order = idx[np.argsort(v[idx])[::-1]]
    for i in order:
        if v[i] < threshold:
            break
        if all(abs(int(i) - o) >= sep for o in out):
            out.append(int(i))
            if len(out) >= top:
                break
    return out
