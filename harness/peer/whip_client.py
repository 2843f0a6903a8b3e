"""A small aiortc WHIP client: the peer's own tests, the load benchmark and any lab tool use it.

It publishes a pre-encoded probe (paced, with scripted pauses that do or do not advance the RTP
timestamps) and logs the downlink it receives with the same tap and log format as the peer.
"""

from __future__ import annotations

import asyncio
import fractions
import ssl as ssl_
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamTrack

from harness.peer import ice
from harness.peer.downlink import FRAME_MS, FRAME_SAMPLES, RATE, EncodedProbe
from harness.peer.rtp_log import RtpLogWriter
from harness.peer.rtp_tap import tap_receiver


class ScriptedProbeTrack(MediaStreamTrack):
    """The probe for ``seed``, 20 ms packets; ``pauses[k] = (ms, jump)`` pauses before packet ``k``.

    ``jump=True``: the skipped time's audio is never sent and RTP timestamps jump (lost audio);
    ``jump=False``: audio and timestamps resume where they stopped (a stalled sender).
    """

    kind = "audio"

    def __init__(self, seed: int, pauses: dict[int, tuple[float, bool]] | None = None) -> None:
        super().__init__()
        self.encoded = EncodedProbe.shared(seed)
        self.pauses = dict(pauses or {})
        self.sent = 0
        self.content = 0
        self._next: float | None = None

    async def recv(self) -> av.Packet:
        if self._next is None:
            self._next = time.monotonic()
        else:
            self._next += FRAME_MS / 1000
            self.content += 1
            if self.sent in self.pauses:
                ms, jump = self.pauses[self.sent]
                self._next += ms / 1000
                if jump:
                    self.content += round(ms / FRAME_MS)
            delay = self._next - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        packet = av.Packet(await self.encoded.packet_async(self.content))
        packet.pts = self.content * FRAME_SAMPLES
        packet.time_base = fractions.Fraction(1, RATE)
        self.sent += 1
        return packet


class WhipClient:
    def __init__(self, url: str, token: str | None, track: MediaStreamTrack,
                 downlink_log: Path | None = None, ice_hosts: tuple[str, ...] | None = ("127.0.0.1",),
                 ssl: ssl_.SSLContext | None = None,
                 on_track: Callable[[MediaStreamTrack], None] | None = None) -> None:
        """``on_track`` receives the downlink track (a client that plays it, like the virtual
        voice app); without it the track is consumed and dropped."""
        self.url, self.token, self.track = url, token, track
        self.on_track = on_track
        self.downlink_log = downlink_log
        self.ice_hosts = ice_hosts
        self.ssl = ssl
        self._ssl_arg: ssl_.SSLContext | bool = ssl if ssl is not None else True  # True: aiohttp default
        self.pc: RTCPeerConnection | None = None
        self.location: str | None = None
        self._writer: RtpLogWriter | None = None
        self._hole = MediaBlackhole()

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/sdp"}
        if self.token is not None:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    async def connect(self, timeout: float = 20.0) -> None:
        self.pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState == "connected":
                connected.set()

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if self.on_track is not None:
                self.on_track(track)
            else:
                self._hole.addTrack(track)

        transceiver = pc.addTransceiver(self.track, direction="sendrecv")
        if self.downlink_log is not None:
            meta = {"clock_rate": 48000, "channels": 2, "role": "client"}
            w = self._writer = RtpLogWriter(self.downlink_log, meta)
            tap_receiver(transceiver.receiver, lambda p, t: w.write(
                t, p.ssrc, p.timestamp, p.sequence_number, p.payload_type, bool(p.marker), bytes(p.payload)))
        with ice.host_addresses(self.ice_hosts):
            await pc.setLocalDescription(await pc.createOffer())
        async with aiohttp.ClientSession() as http, http.post(
            self.url, data=pc.localDescription.sdp, headers=self._headers(), ssl=self._ssl_arg
        ) as resp:
            body = await resp.text()
            if resp.status != 201:
                raise RuntimeError(f"WHIP POST {self.url}: {resp.status} {body.strip()}")
            self.location = resp.headers["Location"]
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
        await self._hole.start()
        await asyncio.wait_for(connected.wait(), timeout)

    async def drop(self) -> None:
        """Vanish without DELETE (a phone whose app was suspended)."""
        if self.pc is not None:
            await self._hole.stop()
            await self.pc.close()
        if self._writer is not None:
            self._writer.close()

    async def close(self) -> int:
        """DELETE the session, then close; returns the DELETE status."""
        status = 0
        if self.location is not None:
            base = self.url.split("/whip")[0]
            async with aiohttp.ClientSession() as http, http.delete(
                    base + self.location, headers=self._headers(), ssl=self._ssl_arg) as resp:
                status = resp.status
        await self.drop()
        return status

