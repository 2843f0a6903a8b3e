"""Fine alignment: 10 ms windows every 1 ms along each run, and sample-accurate edges.

Every run from the tracker is scored with the normalised cross-correlation (NCC) of 10 ms windows
every 1 ms at its own lag, vectorised with cumulative sums (one pass per run). Each window keeps
the best run; windows below threshold are unmatched. Edges of matched spans are then placed to a
full-rate sample by a change-point estimate: with ``xh`` the aligned reference and ``beta`` the
local gain, ``s(t) = xh(t) * (y(t) - beta * xh(t) / 2)`` is the per-sample log-likelihood ratio of
"the capture is the reference" against "it is not" (up to a constant factor): positive on average
while matched, negative in a gap whatever fills it (silence, concealment, comfort noise). The end
of a match is the argmax of its running sum, the start the argmin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.audio.analysis.signals import Reference
from harness.audio.analysis.track import Run

WINDOW_S = 0.010
HOP_S = 0.001
THRESHOLD = 0.45  # a window is matched above this
DIP_THRESHOLD = 0.3  # an unmatched stretch counts only if some window falls below this
MIN_SPAN_HOPS = 5
SILENCE_MS = 1e-9  # mean square below -90 dBFS is silence


def _cumsum0(a: np.ndarray) -> np.ndarray:
    out = np.empty(len(a) + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(a, dtype=np.float64, out=out[1:])
    return out


@dataclass
class FineTrack:
    hop: int  # working samples
    win: int
    ncc: np.ndarray  # best NCC per window start (hop index)
    run: np.ndarray  # index of the run that gave it (-1: none)
    y_energy: np.ndarray  # capture energy per hop
    x_energy: dict[int, tuple[int, np.ndarray]]  # run -> (first hop, aligned reference energy per hop)

    def level_sums(self, run: int, h0: int, h1: int) -> tuple[float, float]:
        """Capture and aligned-reference energies over hops [h0, h1) (for levels: no new pass)."""
        first, xe = self.x_energy.get(run, (0, np.zeros(0)))
        a, b = max(h0, first), min(h1, first + len(xe))
        if b <= a:
            return 0.0, 0.0
        return float(self.y_energy[a:b].sum()), float(xe[a - first : b - first].sum())


@dataclass
class MatchedSpan:
    """Matched hops [i0, i1) of one run."""

    run: int
    i0: int
    i1: int


def fine_track(y_w: np.ndarray, ref: Reference, d: int, fw: float, runs: list[Run], block: int) -> FineTrack:
    h = max(1, round(HOP_S * fw))
    m = max(4, round(WINDOW_S * fw / h))  # hops per window: the window is a whole number of hops
    W = m * h
    n_hops = max(0, (len(y_w) - W) // h + 1)
    best = np.zeros(n_hops)
    who = np.full(n_hops, -1, dtype=np.int32)
    nh_all = len(y_w) // h
    yh = y_w[: nh_all * h].astype(np.float64).reshape(nh_all, h)
    y_energy = np.einsum("ij,ij->i", yh, yh)
    cy = _cumsum0(y_energy)  # per-hop energies, summed over windows below
    x_energy: dict[int, tuple[int, np.ndarray]] = {}
    lp = ref.lp
    floor = SILENCE_MS * W  # in silence a window's energy is ~0: never call that a match
    for ri, run in enumerate(runs):
        b0 = max(0, run.start_b - 2)
        b1 = min(len(y_w) // block + 1, run.end_b + 2)
        i0 = -(-(b0 * block) // h)
        i_end = min(nh_all, (b1 * block) // h)  # hops [i0, i_end) of the region
        if i_end - i0 < m:
            continue
        k0, k1 = i0 * h, i_end * h
        centers = (np.arange(b0, b1 + 1) * block + block / 2) * d
        lag_b = np.rint(run.lag_at(centers)).astype(np.int64)
        kk = np.arange(k0, k1, dtype=np.int64)
        idx = d * kk + lag_b[(kk // block) - b0]
        valid = (idx >= 0) & (idx < len(lp))
        xv = lp[np.clip(idx, 0, len(lp) - 1)] * valid
        ph = (y_w[k0:k1] * xv).reshape(-1, h).sum(axis=1, dtype=np.float64)
        xh = (xv * xv).reshape(-1, h).sum(axis=1, dtype=np.float64)
        cp, cx = _cumsum0(ph), _cumsum0(xh)
        x_energy[ri] = (i0, xh)
        i1 = min(n_hops, i_end - m + 1)
        if i1 <= i0:
            continue
        j = np.arange(i1 - i0)
        dot = cp[j + m] - cp[j]
        ex = cx[j + m] - cx[j]
        ey = cy[i0 + j + m] - cy[i0 + j]
        ncc = np.where((ex > floor) & (ey > floor), dot / np.sqrt(ex * ey + 1e-20), 0.0)
        upd = ncc > best[i0:i1]
        best[i0:i1][upd] = ncc[upd]
        who[i0:i1][upd] = ri
    return FineTrack(h, W, best, who, y_energy, x_energy)


def matched_spans(ft: FineTrack) -> list[MatchedSpan]:
    """Matched stretches of one run each; dips that never fall below DIP_THRESHOLD are bridged."""
    ok = ft.ncc >= THRESHOLD
    # bridge shallow dips: an unmatched stretch whose windows all stay above DIP_THRESHOLD
    n = len(ok)
    if n == 0:
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[1], ok.astype(np.int8), [1]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):  # unmatched [a, b)
        if a > 0 and b < n and ft.ncc[a:b].min() >= DIP_THRESHOLD and ft.run[a - 1] == ft.run[b]:
            ok[a:b] = True
            ft.run[a:b] = ft.run[a - 1]
    spans: list[MatchedSpan] = []
    key = np.where(ok, ft.run, -1)
    change = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    for a, b in zip(starts, ends, strict=True):
        if key[a] >= 0 and b - a >= MIN_SPAN_HOPS:
            spans.append(MatchedSpan(int(key[a]), int(a), int(b)))
    # merge neighbours of the same run separated only by dropped short spans? keep them separate:
    return spans


@dataclass
class Edge:
    sample: float  # full-rate capture sample
    uncertainty: float  # samples


def _aligned(x_full: np.ndarray, run: Run, t: np.ndarray) -> np.ndarray:
    idx = t + np.rint(run.lag_at(t.astype(np.float64))).astype(np.int64)
    valid = (idx >= 0) & (idx < len(x_full))
    return x_full[np.clip(idx, 0, len(x_full) - 1)].astype(np.float64) * valid


# fade-ins tried where audio resumes (codecs cross-fade out of concealment over their overlap)
RAMPS_MS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)


def _fade_in(
    a: np.ndarray, b: np.ndarray, rate: int, ramps_ms: tuple[float, ...] = RAMPS_MS
) -> tuple[int, np.ndarray]:
    """Best start index of a match that fades in (0..3 ms linear) with the log-likelihood curve.

    ``a = beta * xh * y`` and ``b = beta**2 * xh**2 / 2``: the log-likelihood of "y = w * beta * xh +
    noise" against "y = noise" is ``sum(w * a - w**2 * b)``. The edge is the first sample where the
    resumed audio contributes (w > 0), so a codec's cross-fade out of its concealment does not move it.
    """
    n = len(a)
    suffix = np.concatenate([np.cumsum((a - b)[::-1])[::-1], [0.0]])  # suffix[i] = sum over [i, n)
    best: tuple[float, int, np.ndarray] | None = None
    for ramp_ms in ramps_ms:
        r = round(ramp_ms / 1000 * rate)
        if r >= n:
            continue
        if r == 0:
            j = suffix[:n]
        else:
            w = np.arange(1, r + 1, dtype=np.float64) / (r + 1)
            ramp = np.correlate(a, w, mode="valid") - np.correlate(b, w * w, mode="valid")
            j = ramp[: n - r] + suffix[r:n]
        i = int(np.argmax(j))
        if best is None or j[i] > best[0]:
            best = (float(j[i]), i, j)
    assert best is not None
    return best[1], best[2]


def refine_edge(
    y: np.ndarray, x_full: np.ndarray, run: Run, lo: int, hi: int, rate: int, *,
    end: bool, beta_from: tuple[int, int],
) -> Edge:
    """Sample-accurate end (``end=True``: first sample after the match) or start of ``run``'s match."""
    lo, hi = max(0, lo), min(len(y), hi)
    if hi - lo < 2:
        return Edge(float(lo if end else hi), float(max(hi - lo, 1)))
    b0, b1 = max(0, beta_from[0]), min(len(y), beta_from[1])
    beta = 0.0
    if b1 - b0 > 16:
        tb = np.arange(b0, b1, dtype=np.int64)
        xb = _aligned(x_full, run, tb)
        yb = y[b0:b1].astype(np.float64)
        beta = float(np.dot(yb, xb) / (np.dot(xb, xb) + 1e-20))
    t = np.arange(lo, hi, dtype=np.int64)
    xh = _aligned(x_full, run, t)
    yy = y[lo:hi].astype(np.float64)
    if beta <= 0:
        beta = float(np.dot(yy, xh) / (np.dot(xh, xh) + 1e-20))
        if beta <= 0:
            return Edge(float((lo + hi) / 2), float((hi - lo) / 2))
    a = beta * xh * yy
    b = 0.5 * beta * beta * xh * xh
    if end:
        # where a match ends the audio stops hard (concealment takes over at a frame boundary)
        i, j = _fade_in(a[::-1], b[::-1], rate, (0.0,))
        sample = hi - i
    else:
        i, j = _fade_in(a, b, rate)
        sample = lo + i
    band = 3.0 * float(np.std(a - b)) * np.sqrt(0.002 * rate)
    near = np.flatnonzero(j >= j[i] - band)
    unc = float(max(i - near.min(), near.max() - i, 1))
    return Edge(float(sample), unc)
