"""Echo of another direction's probe in a capture (e.g. the downlink heard in the uplink).

The echo lag is found by correlating the capture against that reference (tracker runs if the echo
is strong enough to be tracked, otherwise one full-reference search over the loudest stretch);
then, per 1 s window, the least-squares gain of the aligned reference gives the echo return loss
``-20 log10 |gain|``. Where the correlation is not significant (|NCC| < 4 / sqrt(dof)) the window
reports the loss it would have detected, flagged as a bound.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from harness.audio.analysis.result import Echo, EchoPoint
from harness.audio.analysis.track import Run, Tracker

WINDOW_S = 1.0
BAND_HZ = 3100.0  # effective bandwidth of the voice probe


def measure_echo(tracker: Tracker, runs: list[Run], rate: int, residual: np.ndarray | None = None) -> Echo:
    """``residual``: the capture at the working rate with the primary probe subtracted (optional,
    lowers the floor by the primary's level)."""
    name = tracker.ref.name
    y = tracker.y if residual is None else residual
    lag = _echo_lag(tracker, runs, y)
    d, fw, lp = tracker.d, tracker.fw, tracker.ref.lp
    if lag is None:
        # not found anywhere: the loss is at least what the search could have seen
        n = min(len(y), int(8.0 * fw))
        ey = float(np.mean(y.astype(np.float64) ** 2))
        ex = float(np.mean(tracker.ref.work.astype(np.float64) ** 2))
        if ey <= 0 or ex <= 0:
            return Echo(name, None, None, None, False, [])
        floor = 7.0 / np.sqrt(2 * min(BAND_HZ, fw / 2) * n / fw)
        bound = float(-20 * np.log10(floor * np.sqrt(ey / ex)))
        return Echo(name, None, bound, bound, False, [])
    n = max(16, int(WINDOW_S * fw))
    dof = 2 * min(BAND_HZ, fw / 2) * WINDOW_S
    points: list[EchoPoint] = []
    for k0 in range(0, len(y) - n + 1, n):
        k = np.arange(k0, k0 + n, dtype=np.int64)
        idx = d * k + round(lag)
        valid = (idx >= 0) & (idx < len(lp))
        if valid.mean() < 0.5:
            continue
        xv = lp[np.clip(idx, 0, len(lp) - 1)].astype(np.float64) * valid
        yv = y[k0 : k0 + n].astype(np.float64)
        ex, ey = float(np.dot(xv, xv)), float(np.dot(yv, yv))
        if ex <= 0:
            continue
        if ey <= 1e-12 * n:
            points.append(EchoPoint((k0 + n / 2) / fw, 120.0, True))
            continue
        dot = float(np.dot(xv, yv))
        ncc = dot / np.sqrt(ex * ey)
        floor = 4.0 / np.sqrt(dof)
        if abs(ncc) >= floor:
            points.append(EchoPoint((k0 + n / 2) / fw, -20 * np.log10(abs(dot) / ex), False))
        else:
            gain_floor = floor * np.sqrt(ey / ex)
            points.append(EchoPoint((k0 + n / 2) / fw, -20 * np.log10(gain_floor), True))
    found = [p.erl_db for p in points if not p.bound]
    detected = len(found) > 0
    vals = found if detected else [p.erl_db for p in points]
    return Echo(
        name, -lag / rate * 1000.0,
        float(np.median(vals)) if vals else None, float(np.min(vals)) if vals else None, detected, points,
    )


def _echo_lag(tracker: Tracker, runs: list[Run], y: np.ndarray | None = None) -> float | None:
    """The echo's lag: the longest tracked run, else the best full-reference match at the working
    rate over the loudest 8 s (an echo 25-40 dB down is far below the tracker's thresholds) of
    ``y``: the residual with the primary probe taken out, where the echo stands out most."""
    if runs:
        longest = max(runs, key=lambda r: r.end_b - r.start_b)
        return float(np.median(longest.lag))
    y = tracker.y if y is None else y
    nb, B = min(tracker.nb, len(y) // tracker.B), tracker.B
    if nb == 0:
        return None
    ey = np.square(y[: nb * B].astype(np.float64)).reshape(nb, B).sum(axis=1)
    span = min(nb, int(8.0 / 0.05))
    e = np.convolve(ey, np.ones(span), mode="valid") if nb > span else np.array([ey.sum()])
    b0 = int(np.argmax(e))
    yv = y[b0 * B : (b0 + span) * B]
    xw = tracker.ref.work
    n = len(yv)
    if len(xw) < n // 4 or not np.any(yv):
        return None
    corr = sps.correlate(xw, yv, mode="full", method="fft")
    xpad = np.concatenate([np.zeros(n - 1), xw.astype(np.float64), np.zeros(n - 1)])
    cx = np.concatenate([[0.0], np.cumsum(xpad**2)])
    ex = cx[n:] - cx[:-n]
    floor = 0.05 * n * float(np.mean(xw.astype(np.float64) ** 2))
    ncc = np.where(ex > floor, corr / np.sqrt(float(np.dot(yv, yv)) * ex + 1e-20), 0.0)
    i = int(np.argmax(np.abs(ncc)))
    dof = 2 * min(BAND_HZ, tracker.fw / 2) * n / tracker.fw
    if abs(ncc[i]) < 7.0 / np.sqrt(dof):
        return None
    lag_w = (i - (n - 1)) - b0 * B  # span sample k <-> reference working sample k + i - (n - 1)
    lag, _ = tracker.refine(b0, float(tracker.d * lag_w), tracker.d, nblocks=span)
    return lag
