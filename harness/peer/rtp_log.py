"""The uplink packet log: every RTP packet as it arrived, on disk, flushed; and its decoding.

File layout: one header line ``HRTPLOG1 {json}\\n`` (session metadata: clock rate, payload type,
channels, session and call ids), then one binary record per packet::

    <q arrival_ns> <I ssrc> <I rtp_ts> <H seq> <B payload_type> <B marker> <H payload_len> payload

(little endian). Each record is written with one ``write`` and flushed at once, so a ``kill -9``
loses at most the record being written; :func:`read_log` skips a torn last record.

Decoding (with our own libopus decoder, :class:`harness.audio.opus.OpusDecoder`, never aiortc's
jitter buffer) gives two WAVs of one call:

* **RTP-timestamp axis** (``rtp``): what the sender said. Packets are placed by their RTP timestamp;
  a missing stretch is concealed by libopus PLC (up to ``PLC_MAX_MS``, then silence). A new SSRC or
  a new session starts a new segment, anchored at its first packet's arrival (its RTP clock is
  unrelated to the previous one).
* **Arrival axis** (``arrival``): what a receiver with a fixed late tolerance would have played.
  Packets are played in order at a write cursor; a packet that arrives more than
  ``late_tolerance_ms`` after the cursor's time opens a hole as long as it is late (concealed, then
  silence). A stall shows here even when the RTP timestamps did not move.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from harness.errors import UsageError

MAGIC = b"HRTPLOG1 "
RECORD = struct.Struct("<qIIHBBH")
PLC_MAX_MS = 100.0  # conceal this much of a hole with libopus PLC, then silence (PLC fades anyway)
LATE_TOLERANCE_MS = 60.0


@dataclass(frozen=True)
class Packet:
    arrival_ns: int
    ssrc: int
    rtp_ts: int
    seq: int
    payload_type: int
    marker: bool
    payload: bytes


class RtpLogWriter:
    """Appends packets to ``path``; every record reaches the kernel before :meth:`write` returns."""

    def __init__(self, path: str | os.PathLike[str], meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: BinaryIO | None = open(self.path, "wb", buffering=0)  # noqa: SIM115 - kept open
        self._f.write(MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n")
        self.packets = 0

    def write(self, arrival_ns: int, ssrc: int, rtp_ts: int, seq: int, payload_type: int, marker: bool,
              payload: bytes) -> None:
        if self._f is None:
            return
        head = RECORD.pack(arrival_ns, ssrc, rtp_ts, seq, payload_type, int(marker), len(payload))
        self._f.write(head + payload)
        self.packets += 1

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[Packet]]:
    """(metadata, packets in arrival order). A torn last record (writer killed) is dropped."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the RTP log ({exc.strerror})") from exc
    if not data.startswith(MAGIC) or b"\n" not in data:
        raise UsageError(f"{path}: not a harness RTP log (it must start with {MAGIC.decode().strip()})")
    nl = data.index(b"\n")
    try:
        meta = json.loads(data[len(MAGIC):nl])
    except ValueError as exc:
        raise UsageError(f"{path}: RTP log header is not JSON ({exc})") from exc
    out: list[Packet] = []
    i, n = nl + 1, len(data)
    while i + RECORD.size <= n:
        arrival, ssrc, ts, seq, pt, marker, plen = RECORD.unpack_from(data, i)
        j = i + RECORD.size
        if j + plen > n:
            break  # torn last record
        out.append(Packet(arrival, ssrc, ts, seq, pt, bool(marker), data[j:j + plen]))
        i = j + plen
    return meta, out


# -- decoding -----------------------------------------------------------------------------------


@dataclass
class _Frame:
    """One decodable packet with its position on both axes (samples from the call's origin)."""

    arrival_ns: int
    rtp_pos: int
    payload: bytes
    segment: int


def _segments(logs: Sequence[tuple[dict[str, Any], list[Packet]]], rate: int, origin_ns: int) -> list[_Frame]:
    """Unwrap RTP timestamps per (log, SSRC) run and anchor each run at its first arrival."""
    frames: list[_Frame] = []
    seg = -1
    for meta, packets in logs:
        clock = int(meta.get("clock_rate", 48000))
        scale = rate / clock
        by_ssrc: dict[int, tuple[int, int, int]] = {}  # ssrc -> (segment, base unwrapped ts, anchor pos)
        last_ts: dict[int, int] = {}
        pt = meta.get("payload_type")
        for p in _dedupe(packets):
            if pt is not None and p.payload_type != pt:
                continue  # telephone-event, comfort noise...: not Opus audio
            if p.ssrc not in by_ssrc:
                seg += 1
                anchor = round((p.arrival_ns - origin_ns) * rate / 1e9)
                by_ssrc[p.ssrc] = (seg, p.rtp_ts, anchor)
                last_ts[p.ssrc] = p.rtp_ts
            s, base, anchor = by_ssrc[p.ssrc]
            # unwrap relative to the previous timestamp of this SSRC (handles 2^32 wrap both ways)
            prev = last_ts[p.ssrc]
            delta = (p.rtp_ts - (prev & 0xFFFFFFFF) + (1 << 31)) % (1 << 32) - (1 << 31)
            ext = prev + delta
            last_ts[p.ssrc] = ext
            frames.append(_Frame(p.arrival_ns, anchor + round((ext - base) * scale), p.payload, s))
    return frames


def _dedupe(packets: Iterable[Packet]) -> Iterator[Packet]:
    seen: set[tuple[int, int, int]] = set()
    for p in packets:
        key = (p.ssrc, p.seq, p.rtp_ts)
        if key in seen:
            continue  # a retransmission or duplicate: the first arrival counts
        seen.add(key)
        yield p


class _Renderer:
    """Decodes frames into a growing buffer, concealing holes with PLC then silence."""

    def __init__(self, rate: int, channels: int) -> None:
        from harness.audio.opus import OpusDecoder

        self.rate, self.channels = rate, channels
        self._decoder_cls = OpusDecoder
        self.dec = OpusDecoder(rate=rate, channels=channels)
        self.chunks: list[np.ndarray] = []
        self.cursor = 0  # samples written
        self.segment: int | None = None

    def hole(self, n: int) -> None:
        """``n`` samples of nothing received: libopus PLC (2.5 ms units, at most PLC_MAX_MS), then zeros."""
        if n <= 0:
            return
        unit, step = self.rate // 400, self.rate // 50
        plc = min(n, int(self.rate * PLC_MAX_MS / 1000)) if self.segment is not None else 0
        plc -= plc % unit
        done = 0
        while done < plc:
            k = min(step, plc - done)
            self._put(self.dec.decode(None, frame_samples=k))
            done += k
        if n > done:
            self._put(np.zeros((n - done, self.channels), np.float32))

    def play(self, payload: bytes, segment: int) -> None:
        if segment != self.segment:
            self.dec = self._decoder_cls(rate=self.rate, channels=self.channels)
            self.segment = segment
        try:
            pcm = self.dec.decode(payload, frame_samples=5760 * self.rate // 48000)
        except Exception:  # a corrupt payload: conceal one 20 ms frame instead (opuslib raises OpusError)
            pcm = self.dec.decode(None, frame_samples=self.rate // 50)
        self._put(pcm)

    def _put(self, pcm: np.ndarray) -> None:
        pcm = pcm.reshape(-1, self.channels)
        self.chunks.append(pcm)
        self.cursor += len(pcm)

    def drop_to(self, pos: int) -> None:
        """Rewind the cursor to ``pos`` (a packet overlapping what was already written)."""
        excess = self.cursor - pos
        while excess > 0 and self.chunks:
            last = self.chunks[-1]
            if len(last) <= excess:
                self.chunks.pop()
                excess -= len(last)
                self.cursor -= len(last)
            else:
                self.chunks[-1] = last[: len(last) - excess]
                self.cursor -= excess
                excess = 0

    def samples(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros((0, self.channels), np.float32)
        return np.concatenate(self.chunks)


def decode_rtp_axis(frames: list[_Frame], rate: int, channels: int) -> np.ndarray:
    r = _Renderer(rate, channels)
    for f in sorted(frames, key=lambda f: (f.rtp_pos, f.arrival_ns)):
        if f.rtp_pos < r.cursor:
            if f.segment == r.segment:
                continue  # already covered (duplicate or reordered past its slot)
            r.drop_to(max(0, f.rtp_pos))  # a new segment anchored inside the last one's tail
        r.hole(f.rtp_pos - r.cursor)
        r.play(f.payload, f.segment)
    return r.samples()


def decode_arrival_axis(frames: list[_Frame], rate: int, channels: int, origin_ns: int,
                        late_tolerance_ms: float = LATE_TOLERANCE_MS) -> np.ndarray:
    r = _Renderer(rate, channels)
    tol = int(rate * late_tolerance_ms / 1000)
    next_rtp: int | None = None  # where this segment's content should continue (RTP axis)
    # sender order within a segment (a reordered packet is not a gap); segments in arrival order
    for f in sorted(frames, key=lambda f: (f.segment, f.rtp_pos)):
        if f.segment != r.segment:
            next_rtp = None
        missing = 0 if next_rtp is None else f.rtp_pos - next_rtp  # content the sender skipped or lost
        if missing < 0:
            continue  # a duplicate
        late = round((f.arrival_ns - origin_ns) * rate / 1e9) - r.cursor
        r.hole(max(missing, late if late > tol else 0))
        before = r.cursor
        r.play(f.payload, f.segment)
        next_rtp = f.rtp_pos + (r.cursor - before)
    return r.samples()


@dataclass(frozen=True)
class DecodedCall:
    rate: int
    rtp: np.ndarray  # (n, channels) float32, RTP-timestamp axis
    arrival: np.ndarray  # (n, channels) float32, arrival axis
    origin_ns: int  # lab-clock time of sample 0 on both axes (the first packet's arrival)


def decode_logs(paths: Sequence[str | os.PathLike[str]], rate: int = 48000, channels: int = 2,
                late_tolerance_ms: float = LATE_TOLERANCE_MS, end_ns: int | None = None) -> DecodedCall:
    """Decode the logs of one call's sessions (in order) onto both axes.

    ``end_ns``: until when the call's uplink was due (lab clock); both axes go on in silence for as
    long as the call outlived its last packet, so an uplink that stopped while the call stayed up
    shows as missing, not as a short call. (Wall time before the last packet, a stall included, is
    already on each axis its own way.) The next packet is not missing until it is later than
    ``late_tolerance_ms``, the arrival axis's own rule: a call closed while its next packet was
    still in flight (network jitter on a phone, a stalled event loop here) ends where its audio did.
    """
    logs = [read_log(p) for p in paths]
    firsts = [pk[0].arrival_ns for _, pk in logs if pk]
    if not firsts:
        empty = np.zeros((0, channels), np.float32)
        return DecodedCall(rate, empty, empty, 0)
    origin = min(firsts)
    frames = _segments(logs, rate, origin)
    rtp = decode_rtp_axis(frames, rate, channels)
    arrival = decode_arrival_axis(frames, rate, channels, origin, late_tolerance_ms)
    if end_ns is not None:
        last = max(pk[-1].arrival_ns for _, pk in logs if pk)
        tail = max(0, round((end_ns - last - late_tolerance_ms * 1e6) * rate / 1e9))
        rtp, arrival = _pad_to(rtp, len(rtp) + tail), _pad_to(arrival, len(arrival) + tail)
    return DecodedCall(rate, rtp, arrival, origin)


def _pad_to(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x
    return np.concatenate([x, np.zeros((n - len(x), x.shape[1]), np.float32)])


def log_totals(packets: Iterable[Packet], clock_rate: int = 48000) -> dict[str, int]:
    """Packets, losses and SSRCs of one session's log, counted the way the live tap counts them."""
    from harness.peer.stats import RtpStats

    stats: dict[int, RtpStats] = {}
    for p in packets:
        stats.setdefault(p.ssrc, RtpStats(clock_rate)).add(p.seq, p.rtp_ts, p.arrival_ns, len(p.payload))
    return {"packets": sum(s.packets for s in stats.values()), "lost": sum(s.lost for s in stats.values()),
            "ssrcs": len(stats)}


def write_wavs(paths: Sequence[str | os.PathLike[str]], out_prefix: str | os.PathLike[str],
               rate: int = 48000, end_ns: int | None = None) -> dict[str, Path]:
    """Decode and write ``<prefix>-rtp.wav`` and ``<prefix>-arrival.wav``; returns axis -> path.

    Each WAV is written to a temporary file and renamed: a decode killed halfway leaves no WAV (and
    ``harness peer decode`` makes it again), never a shorter one that reads as whole.
    """
    from harness.audio.wav import write_wav

    d = decode_logs(paths, rate=rate, end_ns=end_ns)
    prefix = Path(out_prefix)
    out = {}
    for axis, samples in (("rtp", d.rtp), ("arrival", d.arrival)):
        if len(samples) == 0:
            samples = np.zeros((1, 2), np.float32)
        out[axis] = write_wav(prefix.with_name(f"{prefix.name}-{axis}.wav"), samples, rate)
    return out
