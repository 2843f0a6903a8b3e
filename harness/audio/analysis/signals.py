"""Signal preparation: mono mix, the working rate (~8 kHz) and the reference's polyphase form.

Alignment runs at a working rate of ``rate / d`` (about 8 kHz: the voice probe lives in
300-3400 Hz). To keep lags exact to one *full-rate* sample, the capture is decimated once (phase 0)
and the reference is kept at the full rate but low-passed, so that ``x_lp[d * k + lag]`` is the
reference decimated at whatever phase a lag needs: no fractional-delay interpolation anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

WORK_RATE_MIN = 8000  # Hz: the working rate is the largest rate / d >= this (d integer)
SEARCH_DECIMATION = 4  # working rate / 4 (~2 kHz) for the full-reference search


def to_mono(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 2:
        a = a.mean(axis=1, dtype=np.float32) if a.shape[1] > 1 else a[:, 0]
    elif a.ndim != 1:
        raise ValueError(f"samples must have shape (n,) or (n, channels), not {a.shape}")
    return np.ascontiguousarray(a)


def decimation_for(rate: int) -> int:
    return max(1, rate // WORK_RATE_MIN)


def _lowpass_taps(d: int) -> np.ndarray:
    # Pass 0-0.43 of the working rate, stop by 0.57: aliases from 4.6-8 kHz land above 3.4 kHz.
    n = 6 * d + 1
    return sps.firwin(n, 0.9 / d, window=("kaiser", 6.0)).astype(np.float32)


def decimate(x: np.ndarray, d: int) -> np.ndarray:
    """Low-pass and keep every d-th sample (phase 0: output k is input d*k, no delay)."""
    if d == 1:
        return x.astype(np.float32, copy=False)
    return sps.resample_poly(x, 1, d, window=_lowpass_taps(d)).astype(np.float32, copy=False)


def lowpass_full_rate(x: np.ndarray, d: int) -> tuple[np.ndarray, float]:
    """The decimation low-pass at the full rate (zero phase), skipped when ``x`` has nothing above
    the working band (the voice probe). Returns the signal and the energy ratio the low-pass would
    have applied to it (1.0 when it was applied): levels compare a filtered capture with it."""
    if d == 1:
        return x, 1.0
    probe = x[: min(len(x), 1 << 18)].astype(np.float64)
    _, spec = sps.welch(probe, nperseg=min(len(probe), 4096))  # Hann windows: no leakage floor
    cut = int(len(spec) * 0.95 / d)  # above 0.475 of the working rate: what would alias
    total = float(spec.sum())
    if total > 0 and spec[cut:].sum() <= 1e-5 * total:
        _, h = sps.freqz(_lowpass_taps(d), worN=len(spec), fs=2.0)
        return x, float(np.sum(np.abs(h) ** 2 * spec) / total)
    return sps.oaconvolve(x, _lowpass_taps(d), mode="same").astype(np.float32, copy=False), 1.0


@dataclass
class Reference:
    """A reference prepared for alignment."""

    name: str
    full: np.ndarray  # mono, full rate
    lp: np.ndarray  # mono, full rate, low-passed for phase-exact decimation
    work: np.ndarray  # lp[::d]
    work_gain: float = 1.0  # energy ratio of the capture's decimation filter on this reference
    _search: np.ndarray | None = None

    @classmethod
    def prepare(cls, name: str, samples: np.ndarray, d: int) -> Reference:
        full = to_mono(samples)
        lp, gain = lowpass_full_rate(full, d)
        return cls(name, full, lp, np.ascontiguousarray(lp[::d]), gain)

    @property
    def search(self) -> np.ndarray:
        if self._search is None:
            self._search = sps.resample_poly(self.work, 1, SEARCH_DECIMATION).astype(np.float32)
        return self._search
