"""Uplink RTP statistics computed from the tap (our own, independent of aiortc's getStats)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RtpStats:
    """Counters for one SSRC run: packets, bytes, extended sequence range, RFC 3550 jitter."""

    clock_rate: int = 48000
    packets: int = 0
    bytes: int = 0
    duplicates: int = 0
    first_ext_seq: int | None = None
    max_ext_seq: int | None = None
    jitter: float = 0.0  # RFC 3550 interarrival jitter, RTP clock units
    _transit: float | None = None
    _seen: set[int] | None = None

    def add(self, seq: int, rtp_ts: int, arrival_ns: int, size: int) -> None:
        # extend to 32+ bits: the candidate nearest the highest sequence number seen
        top = self.max_ext_seq
        ext = seq if top is None else top + ((seq - top + 0x8000) % 0x10000) - 0x8000
        if self._seen is None:
            self._seen = set()
        if ext in self._seen:
            self.duplicates += 1
            return
        self._seen.add(ext)
        if len(self._seen) > 4096:  # keep memory bounded: only recent seqs matter for duplicates
            self._seen = {s for s in self._seen if s > ext - 2048}
        self.packets += 1
        self.bytes += size
        if self.first_ext_seq is None or ext < self.first_ext_seq:
            self.first_ext_seq = ext
        if self.max_ext_seq is None or ext > self.max_ext_seq:
            self.max_ext_seq = ext
        transit = arrival_ns * self.clock_rate / 1e9 - rtp_ts
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self.clock_rate:  # a timestamp jump is not jitter
                self.jitter += (d - self.jitter) / 16
        self._transit = transit

    def release(self) -> None:
        """No more packets will come: free the recent-sequence set (the counters stay)."""
        self._seen = None

    @property
    def expected(self) -> int:
        if self.first_ext_seq is None or self.max_ext_seq is None:
            return 0
        return self.max_ext_seq - self.first_ext_seq + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.packets)

    def to_dict(self) -> dict[str, float | int]:
        return {"packets": self.packets, "bytes": self.bytes, "expected": self.expected, "lost": self.lost,
                "duplicates": self.duplicates, "jitter_ms": round(self.jitter * 1000 / self.clock_rate, 3)}

