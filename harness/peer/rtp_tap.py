"""The uplink RTP tap: every packet as it reaches aiortc's receiver, before its jitter buffer.

aiortc 1.16 has no public hook for received RTP, and its audio path (jitter buffer with a fixed
80 ms prefetch that turns one 20 ms loss into a 100 ms hole, no PLC) is unfit for measurement
(shared/reference/audio.md §1.2). ``RTCDtlsTransport._handle_rtp_data`` routes each packet to
``receiver._handle_rtp_packet(packet, arrival_time_ms=...)`` — a private method. :func:`tap_receiver`
is the only place that touches it: it shadows that method on one receiver instance with a wrapper
that hands the packet to us first and then to aiortc unchanged (aiortc still produces RTCP receiver
reports and the decoded track). :func:`check_private_api` fails loudly if an aiortc upgrade renames
or re-signs it (tests/peer/test_rtp_tap.py calls it; the peer calls it at start).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from harness.peer.rtp_log import RtpLogWriter
from harness.peer.stats import RtpStats
from harness.timeline import Timeline, monotonic_ns

PacketSink = Callable[[RtpPacket, int], None]


class PrivateApiChanged(RuntimeError):
    """aiortc no longer has the private hook the tap wraps: re-check rtp_tap.py against its source."""


def check_private_api() -> None:
    """Raise :class:`PrivateApiChanged` unless aiortc still routes RTP the way the tap expects."""
    handler = getattr(RTCRtpReceiver, "_handle_rtp_packet", None)
    if handler is None or not inspect.iscoroutinefunction(handler):
        raise PrivateApiChanged("aiortc RTCRtpReceiver._handle_rtp_packet is gone or no longer a coroutine")
    params = list(inspect.signature(handler).parameters)
    if params != ["self", "packet", "arrival_time_ms"]:
        raise PrivateApiChanged(f"aiortc RTCRtpReceiver._handle_rtp_packet has parameters {params}, "
                                "expected (self, packet, arrival_time_ms)")
    source = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    if "receiver._handle_rtp_packet(" not in source:
        raise PrivateApiChanged("aiortc RTCDtlsTransport._handle_rtp_data no longer calls "
                                "receiver._handle_rtp_packet: the tap would see nothing")


def tap_receiver(receiver: RTCRtpReceiver, sink: PacketSink) -> None:
    """Call ``sink(packet, arrival_ns)`` for every RTP packet routed to ``receiver``, then aiortc's own."""
    original: Callable[..., Awaitable[None]] = receiver._handle_rtp_packet

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        sink(packet, monotonic_ns())
        await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


class UplinkTap:
    """Logs every uplink packet to disk and puts arrival gaps, RTP jumps and stalls on the timeline.

    Detection, between consecutive packets of one SSRC (``d_arr`` arrival delta, ``d_rtp`` RTP
    timestamp delta, ``n`` sequence delta, ``ptime`` the frame duration):

    * ``arrival-gap`` when ``d_arr >= gap_ms``;
    * ``rtp-ts-jump`` when ``d_rtp - n * ptime >= gap_ms`` (the sender skipped time; a network loss
      advances ``n`` too and is not a jump);
    * ``rtp-stall`` when ``d_arr - d_rtp >= gap_ms``: packets stopped coming while the RTP clock did
      not move (some iOS stacks resume a stalled capture with timestamps that never advanced).
    """

    def __init__(self, writer: RtpLogWriter, timeline: Timeline, fields: dict[str, Any],
                 clock_rate: int = 48000, gap_ms: float = 60.0) -> None:
        self.writer, self.timeline, self.fields = writer, timeline, fields
        self.clock_rate, self.gap_ms = clock_rate, gap_ms
        self.ssrc: int | None = None
        self.stats: dict[int, RtpStats] = {}
        self.first_arrival_ns: int | None = None
        self.last_arrival_ns: int | None = None
        self.ptime_ms = 20.0
        self.stopped_reported = False
        self._last: tuple[int, int, int] | None = None  # newest packet: (arrival_ns, ext rtp ts, ext seq)

    def __call__(self, packet: RtpPacket, arrival_ns: int) -> None:
        if self.writer is None:
            return  # released: the session closed while a packet was in flight
        self.writer.write(arrival_ns, packet.ssrc, packet.timestamp, packet.sequence_number,
                          packet.payload_type, bool(packet.marker), bytes(packet.payload))
        emit = self.timeline.emit
        if self.first_arrival_ns is None:
            self.first_arrival_ns = arrival_ns
            emit("peer", "first-packet", t_ns=arrival_ns, ssrc=packet.ssrc, seq=packet.sequence_number,
                 rtp_ts=packet.timestamp, payload_type=packet.payload_type, **self.fields)
        if packet.ssrc != self.ssrc:
            if self.ssrc is not None:
                emit("peer", "ssrc-change", t_ns=arrival_ns, old=self.ssrc, new=packet.ssrc, **self.fields)
            self.ssrc = packet.ssrc
            self._last = None
        stats = self.stats.setdefault(packet.ssrc, RtpStats(self.clock_rate))
        before = stats.packets
        stats.add(packet.sequence_number, packet.timestamp, arrival_ns, len(packet.payload))
        if stats.packets == before:
            return  # duplicate
        if self.stopped_reported:
            emit("peer", "uplink-resumed", t_ns=arrival_ns, **self.fields)
            self.stopped_reported = False
        self.last_arrival_ns = arrival_ns
        self._detect(packet, arrival_ns)

    def _detect(self, packet: RtpPacket, arrival_ns: int) -> None:
        if self._last is None:
            self._last = (arrival_ns, packet.timestamp, packet.sequence_number)
            return
        a0, ts0, seq0 = self._last
        n = (packet.sequence_number - (seq0 & 0xFFFF) + 0x8000) % 0x10000 - 0x8000
        if n <= 0:
            return  # reordered: older than the newest packet
        d_ts = (packet.timestamp - (ts0 & 0xFFFFFFFF) + (1 << 31)) % (1 << 32) - (1 << 31)
        self._last = (arrival_ns, ts0 + d_ts, seq0 + n)
        d_arr = (arrival_ns - a0) / 1e6
        d_rtp = d_ts * 1000 / self.clock_rate
        if n == 1 and 0 < d_rtp <= 120 and d_arr < self.gap_ms:
            self.ptime_ms = d_rtp  # learn the frame duration from well-behaved neighbours
        common = {"arrival_gap_ms": round(d_arr, 2), "rtp_advance_ms": round(d_rtp, 2), "seq_advance": n,
                  "ssrc": packet.ssrc, **self.fields}
        emit = self.timeline.emit
        if d_arr >= self.gap_ms:
            emit("peer", "arrival-gap", t_ns=arrival_ns, since_ns=a0, **common)
        jump = d_rtp - n * self.ptime_ms
        if jump >= self.gap_ms:
            emit("peer", "rtp-ts-jump", t_ns=arrival_ns, jump_ms=round(jump, 2), **common)
        if d_arr - d_rtp >= self.gap_ms:
            emit("peer", "rtp-stall", t_ns=arrival_ns, since_ns=a0, stalled_ms=round(d_arr - d_rtp, 2),
                 **common)

    def check_silence(self, now_ns: int, after_ms: float) -> None:
        """Emit ``uplink-stopped`` once when no packet came for ``after_ms`` (the next one resumes it)."""
        if self.last_arrival_ns is None or self.stopped_reported:
            return
        if (now_ns - self.last_arrival_ns) / 1e6 >= after_ms:
            self.stopped_reported = True
            self.timeline.emit("peer", "uplink-stopped", since_ns=self.last_arrival_ns, **self.fields)

    def release(self) -> None:
        """The session closed: keep the counters, drop the log writer and duplicate-detection sets."""
        self.writer = None  # type: ignore[assignment]
        for stats in self.stats.values():
            stats.release()

    def totals(self) -> dict[str, int]:
        return {"packets": sum(s.packets for s in self.stats.values()),
                "lost": sum(s.lost for s in self.stats.values()),
                "ssrcs": len(self.stats)}
