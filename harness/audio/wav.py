"""WAV I/O (soundfile) with errors that name the file and the problem."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.errors import UsageError


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    """Write ``samples`` (float in [-1, 1], shape (n,) or (n, channels)) to ``path``.

    ``subtype`` is a soundfile subtype: ``PCM_16`` (default, clipped to full scale) or ``FLOAT`` for a
    lossless copy of float samples.
    """
    path = Path(path)
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise UsageError(f"{path}: samples must have shape (n,) or (n, channels), not {data.shape}")
    if rate <= 0:
        raise UsageError(f"{path}: sample rate must be positive, not {rate}")
    if subtype.startswith("PCM"):
        data = np.clip(data, -1.0, 1.0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), data, int(rate), subtype=subtype, format="WAV")
    except (OSError, RuntimeError, ValueError) as exc:  # soundfile raises LibsndfileError(RuntimeError)
        raise UsageError(f"{path}: cannot write WAV: {exc}") from exc
    return path


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a sound file as float32 ``(samples, rate)``; mono is shape (n,), else (n, channels)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, expected a WAV file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable sound file ({_short(exc)})") from exc
    if data.shape[0] == 0:
        raise UsageError(f"{path}: holds no samples")
    if data.shape[1] == 1:
        data = data[:, 0]
    return np.ascontiguousarray(data), int(rate)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
