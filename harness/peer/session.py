"""One CallSession per WHIP session: one aiortc RTCPeerConnection answering one offer.

Once closed, a session keeps only its summary (totals, times, log path): its peer connection,
media sinks and duplicate-detection state are released, so a long-running peer's memory does not
grow with the sessions it has served.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole, MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from harness.peer import ice
from harness.peer.call import Call
from harness.peer.downlink import EncodedProbe, ProbeTrack, SilenceTrack
from harness.peer.rtp_log import RtpLogWriter
from harness.peer.rtp_tap import UplinkTap, tap_receiver
from harness.timeline import Timeline, monotonic_ns

MAX_CANDIDATES = 64  # the peer sends STUN checks to each: 900 of them once took 83 s to fail
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}")
STATS_INTERVAL_S = 2.0
SILENCE_AFTER_MS = 500.0
CONNECTION_LOST = "connection failed"
"""The close reason when ICE/DTLS gave up (consent expired: the phone stopped answering)."""


class OfferError(ValueError):
    """The offer cannot be answered; the message is the reason sent back with 400."""


def check_offer(sdp: str) -> SessionDescription:
    """Parse and sanity-check an SDP offer; raise :class:`OfferError` with the reason."""
    if not sdp.strip():
        raise OfferError("empty body: POST an SDP offer (Content-Type: application/sdp)")
    if not sdp.lstrip().startswith("v=0"):
        raise OfferError("not an SDP offer: it must start with 'v=0'")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises ValueError/KeyError/IndexError on junk
        raise OfferError(f"malformed SDP: {type(exc).__name__}: {exc}") from None
    audio = [m for m in parsed.media if m.kind == "audio"]
    if not audio:
        raise OfferError("the offer has no audio m-line: publish a microphone track")
    if not any(c.name.lower() == "opus" for m in audio for c in m.rtp.codecs):
        raise OfferError("the offer has no opus/48000/2 codec: the lab peer speaks Opus only")
    if "a=ice-ufrag" not in sdp or "a=ice-pwd" not in sdp:
        raise OfferError("the offer has no ICE credentials (a=ice-ufrag/a=ice-pwd)")
    if "a=fingerprint" not in sdp:
        raise OfferError("the offer has no DTLS fingerprint (a=fingerprint)")
    # offers that parse but could never connect (reliability-probe.md §3): refused now with the reason,
    # not after 30-60 s of ICE/DTLS failing with a 201 already given
    first = audio[0]
    if first.port == 0:
        raise OfferError("the audio m-line has port 0 (a rejected stream): offer a live audio stream")
    if first.direction == "inactive":
        raise OfferError("the offer's audio is a=inactive: offer sendrecv or sendonly")
    if not any(c.name.lower() == "opus" and c.clockRate == 48000 for c in first.rtp.codecs):
        raise OfferError("the offer's opus codec is not opus/48000/2")
    candidates = sdp.count("a=candidate:")
    if candidates > MAX_CANDIDATES:
        raise OfferError(f"the offer lists {candidates} ICE candidates; a phone offers a few, at most "
                         f"{MAX_CANDIDATES} are checked")
    prints = [f for m in audio for f in (m.dtls.fingerprints if m.dtls else [])]
    if not prints or not all(_FINGERPRINT.fullmatch(f.value) for f in prints):
        raise OfferError("the offer's DTLS fingerprint is not hex bytes (a=fingerprint:sha-256 AB:CD:...)")
    return parsed


def codec_parameters(sdp: str, parsed: SessionDescription) -> dict[str, Any]:
    """The Opus parameters the app asked for (fmtp) and its ptime, for the timeline."""
    out: dict[str, Any] = {}
    for m in parsed.media:
        if m.kind != "audio":
            continue
        for c in m.rtp.codecs:
            if c.name.lower() == "opus":
                out = {"codec": "opus", "payload_type": c.payloadType, "clock_rate": c.clockRate,
                       "channels": c.channels, **{k: v for k, v in (c.parameters or {}).items()}}
                break
        break
    for key in ("ptime", "maxptime"):
        found = re.search(rf"^a={key}:(\d+)", sdp, re.MULTILINE)
        if found:
            out[key] = int(found.group(1))
    for key in ("usedtx", "useinbandfec", "stereo"):
        out.setdefault(key, 0)
    out.setdefault("ptime", 20)
    return out


class CallSession:
    """Answers one offer; taps the uplink into ``<call dir>/<n>-<id>.rtplog``; sends the downlink."""

    def __init__(self, call: Call, timeline: Timeline, downlink: str = "probe",
                 ice_hosts: tuple[str, ...] | None = None, ice_servers: list[str] | None = None,
                 probe_seed: int | None = None, gap_ms: float = 60.0,
                 on_closed: Callable[[CallSession], None] | None = None) -> None:
        self.call, self.timeline, self.downlink = call, timeline, downlink
        self._on_closed = on_closed
        self.close_reason: str | None = None
        self.index = len(call.sessions)
        self.id = uuid.uuid4().hex[:16]
        self.etag = f'"{uuid.uuid4().hex[:12]}"'
        self.ice_hosts = ice_hosts
        self.log_path: Path = call.dir / f"{self.index:02d}-{self.id}.rtplog"
        self.created_ns = monotonic_ns()
        self.close_began_ns: int | None = None  # the DELETE, the peer's stop: the phone's end
        self.closed_ns: int | None = None  # torn down (log closed): close() has returned
        self.codec: dict[str, Any] = {}
        self.fields = {"call": call.id, "session": self.id}
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in (ice_servers or [])])
        self.pc = RTCPeerConnection(config)
        self._probe_seed = probe_seed
        self._gap_ms = gap_ms
        self._writer: RtpLogWriter | None = None
        self.tap: UplinkTap = None  # type: ignore[assignment]  # set in answer()
        self._blackholes: list[MediaBlackhole] = []
        self._relay: MediaRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.downlink_track: MediaStreamTrack | None = None
        self._watch_states()

    def emit(self, kind: str, **fields: Any) -> None:
        merged: dict[str, Any] = {**fields, **self.fields}
        self.timeline.emit("peer", kind, **merged)

    def _watch_states(self) -> None:
        pc = self.pc

        @pc.on("iceconnectionstatechange")
        def _ice() -> None:
            self.emit("ice-state", state=pc.iceConnectionState)

        @pc.on("icegatheringstatechange")
        def _gathering() -> None:
            self.emit("ice-gathering-state", state=pc.iceGatheringState)

        @pc.on("connectionstatechange")
        async def _conn() -> None:
            self.emit("connection-state", state=pc.connectionState)
            if pc.connectionState == "failed":
                await self.close(CONNECTION_LOST)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the offer, wire uplink tap and downlink, gather candidates; return the answer SDP.

        Whatever aiortc refuses, at any step (``a=bogusdir`` passes ``setRemoteDescription`` and fails
        in ``createAnswer`` with ``ValueError: None is not in list``), is an :class:`OfferError`: the
        caller answers 400 and closes the session, which emits its ``closed`` event.
        """
        parsed = check_offer(offer_sdp)
        self.codec = codec_parameters(offer_sdp, parsed)
        self.emit("created", index=self.index, downlink=self.downlink)
        self.emit("codec", **self.codec)
        try:
            return await self._negotiate(offer_sdp, parsed)
        except OfferError:
            raise
        except Exception as exc:  # aiortc rejects what it cannot negotiate with ValueError & co
            raise OfferError(f"offer rejected by the WebRTC stack: {type(exc).__name__}: "
                             f"{str(exc)[:200]}") from None

    async def _negotiate(self, offer_sdp: str, parsed: SessionDescription) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        clock_rate = int(self.codec.get("clock_rate") or 48000)
        meta = {"call": self.call.id, "session": self.id, "index": self.index, "clock_rate": clock_rate,
                "payload_type": self.codec.get("payload_type"), "channels": 2, "codec": self.codec}
        self._writer = RtpLogWriter(self.log_path, meta)
        self.tap = UplinkTap(self._writer, self.timeline, self.fields, clock_rate=clock_rate,
                             gap_ms=self._gap_ms)
        offered = [m.direction for m in parsed.media if m.kind == "audio"]
        audio = [t for t in self.pc.getTransceivers() if t.kind == "audio"]
        for t, direction in zip(audio, offered, strict=False):
            self._setup_dtls_watch(t.receiver.transport)
            tap_receiver(t.receiver, self.tap)
            self._wire_audio(t.receiver.track, can_send=direction in ("sendrecv", "recvonly", None))
        answer = await self.pc.createAnswer()
        with ice.host_addresses(self.ice_hosts):
            await self.pc.setLocalDescription(answer)
        self._tasks.append(asyncio.ensure_future(self._stats_loop()))
        return self.pc.localDescription.sdp

    def _wire_audio(self, remote, can_send: bool) -> None:
        if self.downlink == "echo" and can_send:
            self._relay = MediaRelay()
            track = self.downlink_track = self._relay.subscribe(remote, buffered=True)
            self.pc.addTrack(track)
            return
        hole = MediaBlackhole()  # aiortc's decoded track must be consumed or its queue grows
        hole.addTrack(remote)
        self._blackholes.append(hole)
        if not can_send or self.downlink_track is not None:
            return
        if self.downlink == "probe":
            from harness.audio.probe import DOWNLINK_SEED

            seed = DOWNLINK_SEED if self._probe_seed is None else self._probe_seed
            track = self.downlink_track = ProbeTrack(EncodedProbe.shared(seed), self.call.downlink_origin_s)
            self.emit("downlink", mode="probe", seed=seed, origin_ns=int(self.call.downlink_origin_s * 1e9))
        else:
            track = self.downlink_track = SilenceTrack(self.call.downlink_origin_s)
            self.emit("downlink", mode="silence")
        self.pc.addTrack(track)

    def _setup_dtls_watch(self, dtls) -> None:
        @dtls.on("statechange")
        def _dtls() -> None:
            self.emit("dtls-state", state=dtls.state)

    async def start_media(self) -> None:
        for hole in self._blackholes:
            await hole.start()

    async def _stats_loop(self) -> None:
        await self.start_media()
        next_stats = 0.0
        loop = asyncio.get_running_loop()
        while not self._closing:
            await asyncio.sleep(0.1)
            self.tap.check_silence(monotonic_ns(), SILENCE_AFTER_MS)
            if loop.time() >= next_stats:
                next_stats = loop.time() + STATS_INTERVAL_S
                await self._emit_stats()

    async def _emit_stats(self) -> None:
        uplink = {str(ssrc): s.to_dict() for ssrc, s in self.tap.stats.items()}
        downlink: dict[str, Any] = {}
        with contextlib.suppress(Exception):  # getStats on a closing pc may raise; stats are best effort
            for s in (await self.pc.getStats()).values():
                if s.type == "remote-inbound-rtp":
                    rtt_ms = round((s.roundTripTime or 0) * 1000, 2)
                    downlink.update(packets_lost=s.packetsLost, rtt_ms=rtt_ms, fraction_lost=s.fractionLost)
                elif s.type == "outbound-rtp":
                    downlink.update(packets_sent=s.packetsSent)
        if uplink or downlink:
            self.emit("rtp-stats", uplink=uplink, downlink=downlink)

    # -- what stays after close --------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def last_arrival_ns(self) -> int | None:
        return self.tap.last_arrival_ns if self.tap is not None else None

    def totals(self) -> dict[str, int]:
        return self.tap.totals() if self.tap is not None else {"packets": 0, "lost": 0, "ssrcs": 0}

    @property
    def held_until_ns(self) -> int | None:
        """Until when the phone held this session (its uplink was due): when its close began (not
        when the peer's teardown ended: that takes tens of ms, more on a loaded host), or now while
        it is open. A session that ended because the connection failed ends at its last packet:
        the peer cannot tell when the phone went away (consent expires tens of seconds later)."""
        if self.close_reason == CONNECTION_LOST:
            return self.last_arrival_ns
        return self.close_began_ns if self.close_began_ns is not None else monotonic_ns()

    def discard_log(self) -> None:
        """Remove the packet log of a session that never carried a packet (a refused offer)."""
        if self.totals().get("packets", 0) == 0:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    async def close(self, reason: str = "closed") -> None:
        if self._closing:
            return
        self._closing = True
        self.close_began_ns = monotonic_ns()
        self.close_reason = reason
        for task in self._tasks:
            task.cancel()
        if self.tap is not None:
            await self._emit_stats()
        for hole in self._blackholes:
            with contextlib.suppress(Exception):
                await hole.stop()
        await self.pc.close()
        if self._writer is not None:
            self._writer.close()
        self.closed_ns = monotonic_ns()
        totals = self.totals()
        self.emit("closed", reason=reason, began_ns=self.close_began_ns, **totals)
        self._release()
        if self._on_closed is not None:
            self._on_closed(self)

    def _release(self) -> None:
        """Drop what only a live session needs (its summary stays: totals, times, log path)."""
        self._tasks.clear()
        self._blackholes.clear()
        self._relay = None
        self.downlink_track = None
        self._writer = None
        if self.tap is not None:
            self.tap.release()
        self.pc.remove_all_listeners()
        self.pc = None  # type: ignore[assignment]  # closed: its transports and codecs can go
