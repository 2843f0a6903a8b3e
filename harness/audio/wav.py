"""WAV I/O (soundfile) with errors that name the file and the problem.

Writes are atomic: samples go to a temporary file beside the target, which is renamed over it only
once complete, so a process killed mid-write never leaves a valid-looking truncated WAV, and a
reader never sees half a file. Reads accept regular files only (a FIFO would block forever, a
device would never end).
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.errors import UsageError

MAX_RATE = 768_000  # Hz: the highest rate any audio interface records; a header above is corrupt


def _check_target(path: Path) -> None:
    """UsageError unless ``path`` is absent or a regular file (a directory, FIFO or device is not)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{path}: cannot write WAV ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: is a directory; give a file name for the WAV")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file (a FIFO, device or socket); "
                         "give a file name for the WAV")


@contextlib.contextmanager
def wav_writer(path: str | os.PathLike[str], rate: int, channels: int,
               subtype: str = "PCM_16") -> Iterator[sf.SoundFile]:
    """A soundfile writer whose file appears at ``path`` only once the block ends without error.

    Stream long signals through it (``w.write(block)`` per block): memory stays one block.
    """
    path = Path(path)
    if rate <= 0:
        raise UsageError(f"{path}: sample rate must be positive, not {rate}")
    _check_target(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(tmp, "xb")  # noqa: SIM115 - closed below; Python names the errno, libsndfile does not
    except OSError as exc:
        raise UsageError(f"{path}: cannot write WAV ({exc.strerror or exc})") from None
    ok = False
    try:
        with f:
            try:
                snd = sf.SoundFile(f, "w", int(rate), int(channels), subtype=subtype, format="WAV")
            except (RuntimeError, ValueError) as exc:  # LibsndfileError is a RuntimeError
                raise UsageError(f"{path}: cannot write WAV: {exc}") from None
            with snd:
                yield snd
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        ok = True
    except OSError as exc:
        raise UsageError(f"{path}: cannot write WAV ({exc.strerror or exc})") from None
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                tmp.unlink()


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    """Write ``samples`` (float in [-1, 1], shape (n,) or (n, channels)) to ``path``, atomically.

    ``subtype`` is a soundfile subtype: ``PCM_16`` (default, clipped to full scale) or ``FLOAT`` for a
    lossless copy of float samples.
    """
    path = Path(path)
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise UsageError(f"{path}: samples must have shape (n,) or (n, channels), not {data.shape}")
    if subtype.startswith("PCM"):
        data = np.clip(data, -1.0, 1.0)
    with wav_writer(path, rate, 1 if data.ndim == 1 else data.shape[1], subtype) as w:
        w.write(data)
    return path


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a sound file as float32 ``(samples, rate)``; mono is shape (n,), else (n, channels)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: is a directory, expected a WAV file")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file (a FIFO, device or socket); give a WAV file")
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; Python names the errno, libsndfile does not
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    with f:
        try:
            info = sf.info(f)
            if info.samplerate > MAX_RATE:
                raise UsageError(f"{path}: its header says {info.samplerate} Hz, which no recording has "
                                 f"(at most {MAX_RATE}); the file is corrupt")
            f.seek(0)
            data, rate = sf.read(f, dtype="float32", always_2d=True)
        except (OSError, RuntimeError, ValueError, struct.error) as exc:
            raise UsageError(f"{path}: not a readable sound file ({_short(exc)})") from None
    if data.shape[0] == 0:
        raise UsageError(f"{path}: holds no samples")
    if data.shape[1] == 1:
        data = data[:, 0]
    return np.ascontiguousarray(data), int(rate)


def truncation(path: str | os.PathLike[str]) -> str | None:
    """A sentence when ``path`` is a RIFF/WAVE file whose data chunk is shorter than its header
    declares (a writer killed mid-write); None when it is whole or not a WAV."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            pos, fmt = 12, None
            while pos + 8 <= size:
                f.seek(pos)
                cid, clen = struct.unpack("<4sI", f.read(8))
                if cid == b"fmt ":
                    fmt = f.read(min(clen, 16))
                if cid == b"data":
                    have = size - pos - 8
                    if clen in (0, 0xFFFFFFFF) or clen <= have:
                        return None
                    if fmt is not None and len(fmt) >= 16:
                        byte_rate = struct.unpack("<HHIIHH", fmt)[3]
                        if byte_rate > 0:
                            return (f"{path}: truncated: its header declares {clen / byte_rate:.3f} s of "
                                    f"audio, the file holds {have / byte_rate:.3f} s (a writer stopped "
                                    "mid-write?)")
                    return f"{path}: truncated: its header declares {clen} data bytes, the file holds {have}"
                pos += 8 + clen + (clen & 1)
    except (OSError, struct.error):
        return None
    return None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
