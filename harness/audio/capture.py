"""Recording named audio devices onto the lab clock, written to disk as the audio comes.

A :class:`Capture` is one continuously running sounddevice input stream on one named device
(a route's line-out on a real rig, a null sink's monitor on the virtual lab). Its samples carry no
timestamps of their own: frame *n* is at ``t0 + n / rate``, where ``t0`` comes from the callbacks'
``time_info.inputBufferAdcTime`` (the time PortAudio says the block's first sample was captured),
mapped onto ``harness.timeline.monotonic_ns`` and reduced to one median anchor per second. Counting
samples of an unbroken stream is exact; reading the clock per block would add the callback's
scheduling jitter. Anchors go to a sidecar file so a real interface's drift (ppm) can be fitted
later.

Crash safety: every block goes to the WAV file with ``os.write`` (in the kernel at once, so a
SIGKILL loses nothing written), and the WAV header's sizes are patched every ``flush_s`` so any
WAV reader sees all but the last fraction of a second; :func:`read_capture` recovers the rest from
the file size. Status flags (input overflow...) go to the sidecar and the timeline. They do not
catch every dropout: the analyzer finds those from content.

Stored as FLAC: a capture that closes cleanly is rewritten losslessly as FLAC (about 40 % of the
WAV's size on the virtual lab's captures) by :func:`compress_capture`, which checks that the FLAC
decodes to the same samples before it removes the WAV. FLAC is not written while recording: a FLAC
stream cut by SIGKILL has no length in its header (libsndfile reports an unknown length and
soundfile cannot read it; tried), while a cut WAV stays readable. So a writer killed mid-recording
leaves its WAV, which every reader still reads, and the end of the run compresses it
(:mod:`harness.report.prune`). Readers may name a capture by either suffix: :func:`capture_file`
finds the file it is in.

Open the players of a virtual lab before recording: an idle null sink delivers nothing to its
monitor, and the first second of a capture is warm-up.
"""

from __future__ import annotations

import bisect
import json
import os
import queue
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio import devices
from harness.errors import LabFault, UsageError

SOURCE = "capture"
_FORMATS = {"int16": (1, 2, np.int16), "float32": (3, 4, np.float32)}  # WAV format tag, bytes, dtype
_HEADER = 44
_STATUS_FLAGS = ("input_overflow", "input_underflow", "output_overflow", "output_underflow", "priming_output")
DRIFT_FIT_MIN_S = 30.0  # fit the sample rate from anchors only over a span this long
# PortAudio's ADC times through ALSA's pulse plugin are wrong for the first 1-2 s of a stream (a
# constant ~0.5 s latency, then a ramp down to ~0.3 ms; measured): blocks claiming more latency
# than this are ignored, and a one-second window is used only if its ADC-based origins agree.
MAX_INPUT_LATENCY_S = 0.2
WINDOW_SPREAD_NS = 2e6  # p10-p90 of a window's origins
WINDOW_MIN_SHARE = 0.8  # of the window's blocks must have a plausible ADC time
ADC_WINDOWS_BEFORE_FALLBACK = 5  # then the callback times bound the origin (host APIs without ADC times)


def _wav_header(fmt: str, channels: int, rate: int, data_bytes: int) -> bytes:
    tag, width, _ = _FORMATS[fmt]
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, tag, channels, rate, rate * channels * width,
                                channels * width, 8 * width)
        + b"data" + struct.pack("<I", data_bytes)
    )


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".timing.jsonl")


CAPTURE_SUFFIXES = (".flac", ".wav")
"""What a capture is stored as, in the order a reader looks: FLAC once its writer closed it, WAV
while recording, after a crash, or for a format FLAC cannot hold (float32, more than 8 channels)."""
FLAC_MAX_CHANNELS = 8


def capture_file(path: str | os.PathLike[str]) -> Path:
    """The file capture ``path`` is in, whichever of its suffixes it was named by (``receiver.wav``
    finds ``receiver.flac``): the first of :data:`CAPTURE_SUFFIXES` present with its sidecar."""
    path = Path(path)
    if path.suffix not in CAPTURE_SUFFIXES:
        return path
    for suffix in CAPTURE_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.is_file() and sidecar_path(candidate).is_file():
            return candidate
    return path


def is_capture(path: Path) -> bool:
    """A capture file (not a leftover twin): a WAV whose FLAC is complete is shadowed by it."""
    if path.suffix not in CAPTURE_SUFFIXES or not sidecar_path(path).is_file():
        return False
    return capture_file(path) == path


def compress_capture(path: str | os.PathLike[str]) -> Path:
    """Rewrite a closed int16 capture WAV (and its sidecar) as FLAC; return the file it is in now.

    Crash-safe at every step: the FLAC goes to a temporary file, is read back and compared sample
    for sample with the WAV, fsynced, its sidecar copied, and only then renamed into place; the WAV
    and its sidecar are removed last. A crash before the rename leaves the WAV (and a ``.tmp``); after
    it, :func:`capture_file` prefers the complete FLAC. Float32 captures and captures wider than
    :data:`FLAC_MAX_CHANNELS` stay WAV (FLAC holds integer samples, up to 8 channels).
    """
    import soundfile as sf

    wav = Path(path)
    if wav.suffix != ".wav":
        return capture_file(wav)
    header = _sidecar_header(sidecar_path(wav))
    if header.get("sample_format") != "int16" or int(header.get("channels", 0)) > FLAC_MAX_CHANNELS:
        return wav
    channels, rate = int(header["channels"]), int(header["rate"])
    data = _raw_frames(wav, "int16", channels)
    flac, tmp = wav.with_suffix(".flac"), wav.with_suffix(".flac.tmp")
    with sf.SoundFile(tmp, "w", samplerate=rate, channels=channels, format="FLAC", subtype="PCM_16") as f:
        f.write(data)
    back, _ = sf.read(tmp, dtype="int16", always_2d=True)
    if back.shape != data.shape or not np.array_equal(back, data):
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"{wav}: the FLAC copy does not decode to the same samples; kept the WAV")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    side_tmp = sidecar_path(flac).with_name(sidecar_path(flac).name + ".tmp")
    side_tmp.write_bytes(sidecar_path(wav).read_bytes())
    side_tmp.replace(sidecar_path(flac))
    tmp.replace(flac)
    wav.unlink()
    sidecar_path(wav).unlink(missing_ok=True)
    return flac


def _sidecar_header(side: Path) -> dict[str, Any]:
    with open(side, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                break
            if rec.get("kind") == "header":
                return rec
    return {}


def _raw_frames(wav: Path, fmt: str, channels: int) -> np.ndarray:
    """The frames of a capture WAV as written, counted from the file size (a crash-cut header's
    sizes may be short), shape (n, channels)."""
    _, width, dtype = _FORMATS[fmt]
    frame_bytes = width * channels
    raw = wav.read_bytes()[_HEADER:]
    n = len(raw) // frame_bytes
    return np.frombuffer(raw[: n * frame_bytes], dtype=dtype).reshape(n, channels)


def fit_rate(anchors: Sequence[tuple[int, int]], rate: int) -> float:
    """Nanoseconds per frame: nominal, or fitted from anchors spanning DRIFT_FIT_MIN_S or more."""
    if len(anchors) >= 2 and (anchors[-1][0] - anchors[0][0]) / rate >= DRIFT_FIT_MIN_S:
        frames = np.array([a[0] for a in anchors], dtype=np.float64)
        times = np.array([a[1] for a in anchors], dtype=np.float64)
        return float(np.polyfit(frames - frames[0], times - times[0], 1)[0])
    return 1e9 / rate


def time_of_frame(anchors: Sequence[tuple[int, int]], rate: int, frame: float) -> int:
    """Lab-clock time of ``frame``, from the last anchor at or before it (the first one before that).

    Piecewise, so a dropout in the capture chain (frames never delivered) shifts only what follows
    the next anchor, not the whole file.
    """
    if not anchors:
        raise ValueError("capture has no clock anchor yet")
    i = max(0, bisect.bisect_right([a[0] for a in anchors], frame) - 1)
    f, t = anchors[i]
    return round(t + (frame - f) * fit_rate(anchors, rate))


def frame_at_time(anchors: Sequence[tuple[int, int]], rate: int, t_ns: int) -> int:
    """The frame captured at lab-clock time ``t_ns`` (inverse of :func:`time_of_frame`)."""
    if not anchors:
        raise ValueError("capture has no clock anchor yet")
    i = max(0, bisect.bisect_right([a[1] for a in anchors], t_ns) - 1)
    f, t = anchors[i]
    return round(f + (t_ns - t) / fit_rate(anchors, rate))


@dataclass(frozen=True)
class CaptureClock:
    """A capture's frames <-> the lab clock, from its anchors (one value: the verdict, the report and
    the analysis files all map with it)."""

    anchors: tuple[tuple[int, int], ...]
    rate: int

    def time_of(self, frame: float) -> int:
        """Lab-clock ns of ``frame``."""
        return time_of_frame(self.anchors, self.rate, frame)

    def frame_at(self, t_ns: int) -> int:
        return frame_at_time(self.anchors, self.rate, t_ns)

    def time_of_s(self, seconds: float) -> int:
        """Lab-clock ns of a position in the capture given in seconds (the analyzer's unit)."""
        return self.time_of(seconds * self.rate)

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "anchors": [list(a) for a in self.anchors]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaptureClock:
        return cls(tuple((int(f), int(t)) for f, t in d["anchors"]), int(d["rate"]))


@dataclass
class Recording:
    """A capture read back from disk (possibly cut short by a crash of its writer)."""

    path: Path
    samples: np.ndarray  # float32, (n,) mono or (n, channels)
    rate: int
    channel_names: list[str]
    device: str
    anchors: list[tuple[int, int]] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False  # the writer stopped cleanly

    @property
    def t0_ns(self) -> int:
        """Lab-clock time of frame 0."""
        return self.time_of(0)

    @property
    def clock(self) -> CaptureClock:
        return CaptureClock(tuple(self.anchors), self.rate)

    def time_of(self, frame: float) -> int:
        return self.clock.time_of(frame)

    def frame_at(self, t_ns: int) -> int:
        return self.clock.frame_at(t_ns)

    @property
    def mono(self) -> np.ndarray:
        """The first channel (the route itself for a route's capture)."""
        return self.samples if self.samples.ndim == 1 else self.samples[:, 0]

    def channel(self, name: str) -> np.ndarray:
        if self.samples.ndim == 1:
            if name in self.channel_names:
                return self.samples
        elif name in self.channel_names:
            return self.samples[:, self.channel_names.index(name)]
        raise UsageError(f"{self.path}: no channel {name!r}; channels are {self.channel_names}")


def read_capture(path: str | os.PathLike[str]) -> Recording:
    """Read a capture (FLAC, or WAV whose data length comes from the file size: crash-safe) and its
    sidecar. ``path`` may name either suffix (:func:`capture_file`)."""
    path = capture_file(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such capture file")
    if not side.is_file():
        raise UsageError(f"{path}: its timing sidecar {side.name} is missing "
                         "(was it written by harness.audio.capture?)")
    header: dict[str, Any] = {}
    anchors: list[tuple[int, int]] = []
    status: list[dict[str, Any]] = []
    complete = False
    with open(side, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                break  # a line cut by a crash: everything before it is good
            kind = rec.get("kind")
            if kind == "header":
                header = rec
            elif kind == "anchor":
                anchors.append((int(rec["frame"]), int(rec["t_ns"])))
            elif kind == "status":
                status.append(rec)
            elif kind == "stop":
                complete = True
    if not header:
        raise UsageError(f"{side}: no header line; not a harness capture sidecar")
    fmt, channels, rate = header["sample_format"], int(header["channels"]), int(header["rate"])
    data = _read_flac(path, channels) if path.suffix == ".flac" else _raw_frames(path, fmt, channels)
    samples = data.astype(np.float32) / 32768.0 if fmt == "int16" else data.astype(np.float32)
    if channels == 1:
        samples = samples[:, 0]
    return Recording(path, np.ascontiguousarray(samples), rate, list(header["channel_names"]),
                     header["device"], anchors, status, complete)


def _read_flac(path: Path, channels: int) -> np.ndarray:
    """A FLAC capture's int16 frames as written (soundfile; exact for 16-bit FLAC)."""
    import soundfile as sf

    try:
        data, _ = sf.read(path, dtype="int16", always_2d=True)
    except (OSError, RuntimeError, ValueError) as exc:  # soundfile raises LibsndfileError(RuntimeError)
        raise UsageError(f"{path}: not a readable FLAC capture ({exc})") from exc
    if data.shape[1] != channels:
        raise UsageError(f"{path}: {data.shape[1]} channels, but its sidecar says {channels}")
    return data


def _window_origin(origins: list[float], blocks: int) -> float | None:
    """The median origin of a window whose ADC-based origins are plausible and agree, else None."""
    if blocks == 0 or len(origins) < WINDOW_MIN_SHARE * blocks:
        return None
    p10, p50, p90 = np.percentile(origins, [10, 50, 90])
    return float(p50) if p90 - p10 <= WINDOW_SPREAD_NS else None


@dataclass
class _Tap:
    """One channel of a multichannel capture written to its own mono file as it comes."""

    name: str
    channel: int
    path: Path
    fd: int = -1
    side: Any = None


class Capture:
    """One input stream on one named device, recorded to ``path`` (WAV) + ``path.timing.jsonl``.

    ``channel_names`` labels the stream's channels (default: ``name`` for mono, ``name:N`` else).
    ``split`` (``{name: channel}``) also writes those channels each to ``split_dir/<name>.wav``
    with the same timing (one stream, one clock, a mono file per route for every reader).
    ``compress``: on a clean close, rewrite each file as FLAC (:func:`compress_capture`).
    """

    def __init__(
        self,
        device: str | int,
        path: str | os.PathLike[str],
        *,
        timeline: Any = None,
        name: str | None = None,
        channels: int = 1,
        rate: int = 48000,
        sample_format: str = "int16",
        blocksize: int = 480,
        latency: str | float = "low",
        channel_names: Sequence[str] | None = None,
        flush_s: float = 0.5,
        anchor_s: float = 1.0,
        stall_s: float = 2.0,
        split: Mapping[str, int] | None = None,
        split_dir: str | os.PathLike[str] | None = None,
        compress: bool = True,
    ) -> None:
        if sample_format not in _FORMATS:
            raise UsageError(f"capture sample_format must be one of {sorted(_FORMATS)}, "
                             f"not {sample_format!r}")
        self.device = device
        self.path = Path(path)
        self.timeline = timeline
        self.name = name or (device if isinstance(device, str) else self.path.stem)
        self.channels, self.rate, self.sample_format = channels, rate, sample_format
        self.blocksize, self.latency = blocksize, latency
        if channel_names is None:
            channel_names = [self.name] if channels == 1 else [f"{self.name}:{i}" for i in range(channels)]
        if len(channel_names) != channels:
            raise UsageError(f"capture {self.name}: {len(channel_names)} channel names "
                             f"for {channels} channels")
        self.channel_names = list(channel_names)
        split_to = Path(split_dir) if split_dir is not None else self.path.parent
        self._taps = [_Tap(n, ch, split_to / f"{n}.wav") for n, ch in (split or {}).items()]
        for tap in self._taps:
            if not 0 <= tap.channel < channels:
                raise UsageError(f"capture {self.name}: {tap.name} is on channel {tap.channel}, but the "
                                 f"stream has channels 0..{channels - 1}")
            if tap.path == self.path:
                raise UsageError(f"capture {self.name}: channel file {tap.path} would overwrite the capture")
        self.compress = compress
        self._flush_frames = int(flush_s * rate)
        self._anchor_frames = int(anchor_s * rate)
        self._stall_s = stall_s
        self.frames = 0  # frames written to disk
        self.anchors: list[tuple[int, int]] = []
        self.status_count = 0
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stream: Any = None
        self._writer: threading.Thread | None = None
        self._first_anchor = threading.Event()
        self._first_data = threading.Event()
        self._cb_frames = 0  # frames seen by the callback (callback thread only)
        self._fd = -1
        self._side: Any = None

    # -- life cycle -------------------------------------------------------------------------------

    def open(self) -> Capture:
        """Open the device and start recording (returns at once; see :meth:`wait_started`)."""
        import sounddevice as sd

        index = devices.find_device(self.device, "input")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(self._fd, _wav_header(self.sample_format, self.channels, self.rate, 0))
        self._side = open(sidecar_path(self.path), "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        header = {
            "kind": "header", "device": str(self.device), "name": self.name, "rate": self.rate,
            "channels": self.channels, "sample_format": self.sample_format,
            "channel_names": self.channel_names,
        }
        self._side_line(header)
        for tap in self._taps:
            tap.path.parent.mkdir(parents=True, exist_ok=True)
            tap.fd = os.open(tap.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(tap.fd, _wav_header(self.sample_format, 1, self.rate, 0))
            tap.side = open(sidecar_path(tap.path), "w", encoding="utf-8", buffering=1)  # noqa: SIM115
            tap.side.write(json.dumps({**header, "channels": 1, "channel_names": [tap.name],
                                       "split_from": str(self.path), "channel": tap.channel}) + "\n")
        try:
            self._stream = sd.RawInputStream(
                device=index, samplerate=self.rate, channels=self.channels, dtype=self.sample_format,
                blocksize=self.blocksize, latency=self.latency, callback=self._on_audio,
            )
        except sd.PortAudioError as exc:
            self._close_files()
            raise LabFault(f"cannot open audio input {self.device!r}: {exc}", tag="capture-open") from exc
        devices.track(self)
        self._writer = threading.Thread(target=self._write_loop, name=f"capture-{self.name}", daemon=True)
        self._writer.start()
        self._stream.start()
        self._emit("capture-open", device=str(self.device), path=str(self.path), channels=self.channel_names)
        return self

    @property
    def recording(self) -> bool:
        return self._stream is not None

    def wait_flowing(self, timeout: float = 15.0) -> None:
        """Block until the device delivers audio (the clock anchors follow within seconds: the
        recording is placed on the lab clock when it is read, so a rig need not wait for them)."""
        self._wait(self._first_data, timeout)

    def wait_started(self, timeout: float = 15.0) -> int:
        """Block until the first anchor exists; return the lab-clock time of frame 0."""
        self._wait(self._first_anchor, timeout)
        return self.t0_ns

    def _wait(self, event: threading.Event, timeout: float) -> None:
        if not event.wait(timeout):
            raise LabFault(
                f"capture {self.name}: no audio from {self.device!r} within {timeout:.0f} s "
                "(virtual lab: is a player open on its sink? an idle null sink delivers nothing)",
                tag="capture-silent",
            )

    def close(self) -> None:
        """Stop the stream, write out what is queued, patch the header, fsync."""
        if self._stream is None:
            return
        stream, self._stream = self._stream, None
        try:
            stream.stop()
            stream.close()
        finally:
            devices.untrack(self)
            self._q.put(None)
            if self._writer is not None:
                self._writer.join()
            self._side_line({"kind": "stop", "frames": self.frames})
            self._close_files()
            self._emit("capture-stopped", frames=self.frames, seconds=round(self.frames / self.rate, 3))
            if self.compress:
                self._compress()

    def _compress(self) -> None:
        for path in [self.path, *(tap.path for tap in self._taps)]:
            try:
                compress_capture(path)
            except Exception as exc:  # the WAV stays, and every reader reads it
                self._emit("capture-compress-failed", path=str(path), error=f"{type(exc).__name__}: {exc}")

    def __enter__(self) -> Capture:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time -------------------------------------------------------------------------------------

    @property
    def t0_ns(self) -> int:
        """Lab-clock time of frame 0."""
        return self.time_of(0)

    def time_of(self, frame: float) -> int:
        return time_of_frame(self.anchors, self.rate, frame)

    def frame_at(self, t_ns: int) -> int:
        return frame_at_time(self.anchors, self.rate, t_ns)

    def read(self) -> Recording:
        """What is on disk so far."""
        return read_capture(self.path)

    # -- callback thread: copy and hand over, nothing else ---------------------------------------

    def _on_audio(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic_ns()
        self._q.put((bytes(indata), self._cb_frames, frames, time_info.currentTime,
                     time_info.inputBufferAdcTime, now, [f for f in _STATUS_FLAGS if getattr(status, f)]))
        self._cb_frames += frames

    # -- writer thread ----------------------------------------------------------------------------

    def _write_loop(self) -> None:
        clock = devices.StreamClock()
        adc_origins: list[float] = []  # per block: lab time of frame 0 according to the ADC time
        cb_origins: list[float] = []  # per block: latest possible lab time of frame 0 (callback time)
        window_start = 0
        rejected = 0
        unpatched = 0
        stalled = False
        ns_per_frame = 1e9 / self.rate
        while True:
            try:
                item = self._q.get(timeout=self._stall_s)
            except queue.Empty:
                if self.anchors and not stalled and self._stream is not None:
                    stalled = True
                    self._emit("capture-stalled", frame=self.frames, after_s=self._stall_s)
                continue
            if item is None:
                break
            data, first, n, cur, adc, now, flags = item
            self._first_data.set()
            if stalled:
                stalled = False
                self._emit("capture-resumed", frame=first)
            os.write(self._fd, data)
            if self._taps:
                block = np.frombuffer(data, dtype=_FORMATS[self.sample_format][2]).reshape(n, self.channels)
                for tap in self._taps:
                    os.write(tap.fd, np.ascontiguousarray(block[:, tap.channel]).tobytes())
            self.frames = first + n
            unpatched += n
            if unpatched >= self._flush_frames:
                self._patch_header()
                unpatched = 0
            clock.update(cur, now)
            if not cb_origins:
                window_start = first
            cb_origins.append(now - (first + n) * ns_per_frame)
            if 0.0 < cur - adc <= MAX_INPUT_LATENCY_S:
                adc_origins.append(clock.to_ns(adc) - first * ns_per_frame)
            if self.frames - window_start >= self._anchor_frames:
                origin = _window_origin(adc_origins, len(cb_origins))
                if origin is None and rejected >= ADC_WINDOWS_BEFORE_FALLBACK:
                    origin, source = min(cb_origins), "callback"
                else:
                    source = "adc"
                if origin is None:
                    rejected += 1
                else:
                    rejected = 0
                    self._add_anchor(window_start, origin + window_start * ns_per_frame, source)
                adc_origins.clear()
                cb_origins.clear()
            if flags:
                self.status_count += 1
                t = self.time_of(first) if self.anchors else now
                self._side_line({"kind": "status", "frame": first, "t_ns": t, "flags": flags})
                self._emit("capture-status", t_ns=t, frame=first, flags=flags)
        if not self.anchors and cb_origins:
            # closed before the first anchor window was full: place it by the callback times (the
            # latest possible time of each block), so every closed capture is on the lab clock
            self._add_anchor(window_start, min(cb_origins) + window_start * ns_per_frame, "callback")
        self._patch_header()

    def _add_anchor(self, frame: int, t_ns: float, source: str) -> None:
        self.anchors.append((frame, round(t_ns)))
        self._side_line({"kind": "anchor", "frame": frame, "t_ns": round(t_ns), "from": source})
        if len(self.anchors) == 1:
            self._emit("capture-started", t_ns=self.t0_ns, device=str(self.device), path=str(self.path),
                       clock=source)
            self._first_anchor.set()

    def _patch_header(self) -> None:
        _, width, _ = _FORMATS[self.sample_format]
        os.pwrite(self._fd, _wav_header(self.sample_format, self.channels, self.rate,
                                        self.frames * self.channels * width), 0)
        for tap in self._taps:
            os.pwrite(tap.fd, _wav_header(self.sample_format, 1, self.rate, self.frames * width), 0)

    def _side_line(self, rec: dict[str, Any]) -> None:
        line = json.dumps(rec) + "\n"
        if self._side is not None:
            self._side.write(line)
        for tap in self._taps:
            if tap.side is not None:
                tap.side.write(line)

    def _close_files(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
        if self._side is not None:
            self._side.close()
            self._side = None
        for tap in self._taps:
            if tap.fd >= 0:
                os.fsync(tap.fd)
                os.close(tap.fd)
                tap.fd = -1
            if tap.side is not None:
                tap.side.close()
                tap.side = None

    def _emit(self, kind: str, **fields: Any) -> None:
        if self.timeline is not None:
            self.timeline.emit(SOURCE, kind, name=self.name, **fields)


class CaptureSet:
    """Several captures started together: ``{name: device}`` recorded to ``out_dir/<name>.wav``.

    The virtual lab records each route's monitor as its own stream; a real rig may record one
    multichannel interface (one device, several named channels) through ``channel_names``.
    """

    def __init__(self, devices_by_name: Mapping[str, str | int], out_dir: str | os.PathLike[str], *,
                 timeline: Any = None, **options: Any) -> None:
        self.out_dir = Path(out_dir)
        self.captures = {
            name: Capture(dev, self.out_dir / f"{name}.wav", timeline=timeline, name=name, **options)
            for name, dev in devices_by_name.items()
        }

    def open(self, timeout: float = 15.0) -> CaptureSet:
        try:
            for cap in self.captures.values():
                cap.open()
            for cap in self.captures.values():
                cap.wait_started(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        for cap in self.captures.values():
            cap.close()

    def __getitem__(self, name: str) -> Capture:
        return self.captures[name]

    def __enter__(self) -> CaptureSet:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the capture chain's reference channel -------------------------------------------------------

REFERENCE_WINDOW_S = 0.01
REFERENCE_DEAD_DB = -20.0  # a window this far under the reference's usual level is dead
REFERENCE_SILENT_DBFS = -80.0  # a reference whose usual level is under this never played
PILOT_PHASE_STEP_RAD = 0.1  # a jump of the pilot's phase between live windows: frames lost or added


@dataclass(frozen=True)
class ReferenceGap:
    """A stretch where the capture chain's reference was dead (``dead``) or broken
    (``discontinuity``: the pilot's phase jumped, frames were lost or added; no length).
    ``open_ended``: dead up to the end of the recording (the chain went silent and stayed so)."""

    start_frame: int
    end_frame: int
    kind: str
    open_ended: bool = False

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


def reference_gaps(samples: np.ndarray, rate: int, signal: str = "pilot", pilot_hz: float = 997.0,
                   min_s: float = REFERENCE_WINDOW_S) -> list[ReferenceGap]:
    """Where the reference channel of a capture chain was dead or broken, in frames of the capture.

    Dead: 10 ms windows more than 20 dB under the channel's median level (the whole channel when
    that median is under -80 dBFS: the chain delivered nothing). For a pilot, also every jump of
    its phase between two live windows. ``signal`` is ``pilot`` or ``mouth`` (level only).
    """
    if signal not in ("pilot", "mouth"):
        raise UsageError(f"reference signal must be 'pilot' or 'mouth', not {signal!r}")
    x = np.asarray(samples, dtype=np.float64)
    hop = max(1, round(REFERENCE_WINDOW_S * rate))
    n = len(x) // hop
    if n == 0:
        return []
    blocks = x[: n * hop].reshape(n, hop)
    rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    usual = float(np.median(rms))
    if usual < 10 ** (REFERENCE_SILENT_DBFS / 20):
        return [ReferenceGap(0, n * hop, "dead", open_ended=True)]
    dead = rms < usual * 10 ** (REFERENCE_DEAD_DB / 20)
    gaps: list[ReferenceGap] = []
    min_windows = max(1, round(min_s / REFERENCE_WINDOW_S))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], dead.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= min_windows:
            gaps.append(ReferenceGap(int(a) * hop, int(b) * hop, "dead", open_ended=bool(b == n)))
    if signal == "pilot":
        t = np.arange(n * hop, dtype=np.float64).reshape(n, hop)
        z = np.sum(blocks * np.exp(-2j * np.pi * pilot_hz * t / rate), axis=1)
        alive = rms > usual * 10 ** (-3 / 20)
        steps = np.angle(z[1:] * np.conj(z[:-1]))
        for k in np.flatnonzero(alive[1:] & alive[:-1] & (np.abs(steps) > PILOT_PHASE_STEP_RAD)):
            gaps.append(ReferenceGap(int(k + 1) * hop, int(k + 1) * hop, "discontinuity"))
        # z is demodulated at absolute frames, so a continuous pilot keeps its phase across a dead
        # stretch too: a mute keeps it, a chain that lost frames does not
        for g in [g for g in gaps if g.kind == "dead"]:
            a, b = g.start_frame // hop - 1, g.end_frame // hop
            jumped = a >= 0 and b < n and alive[a] and alive[b] and \
                abs(np.angle(z[b] * np.conj(z[a]))) > PILOT_PHASE_STEP_RAD
            if jumped:
                gaps.append(ReferenceGap(g.end_frame, g.end_frame, "discontinuity"))
    return sorted(gaps, key=lambda g: (g.start_frame, g.kind))
