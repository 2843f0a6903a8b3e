"""What the peer sends to the app: the probe (pre-encoded, paced), an echo of the uplink, or silence.

aiortc's own Opus encoder is fixed (96 kbit/s, its own resampler), so the probe is encoded by the
harness's libopus encoder and handed to aiortc as ``av.Packet``s, which its sender transmits as is
(``encoder.pack``: the RTP timestamp comes from the packet's pts). The encoded probe is shared by
every session in the process and grows lazily, so N concurrent calls cost one encoder, not N.
aiortc does not pace a track: ``recv`` sleeps until ``t0 + n * 20 ms`` on the monotonic clock.

Each call has one downlink origin; a reconnected session resumes the probe where an unbroken one
would be by now, so the phone-side capture shows the reconnect as lost audio of the right length.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from abc import abstractmethod
from typing import ClassVar

import av
from aiortc.mediastreams import MediaStreamTrack

FRAME_MS = 20
RATE = 48000
FRAME_SAMPLES = RATE * FRAME_MS // 1000
MODES = ("probe", "echo", "silence")
ENCODE_AHEAD = 100  # packets (2 s) kept encoded ahead of the newest one sent


class EncodedProbe:
    """The probe for ``seed`` as 20 ms Opus packets, encoded once per process and shared."""

    _shared: ClassVar[dict[tuple[int, int], EncodedProbe]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, seed: int, bitrate: int = 32000) -> None:
        from harness.audio.opus import OpusEncoder
        from harness.audio.probe import ProbeStream

        self.seed, self.bitrate = seed, bitrate
        self._stream = ProbeStream(seed, rate=RATE, channels=1)
        self._encoder = OpusEncoder(rate=RATE, channels=1, bitrate=bitrate, frame_ms=FRAME_MS)
        self._packets: list[bytes] = []
        self._lock = threading.Lock()
        self._filling: asyncio.Future[bytes] | None = None

    @classmethod
    def shared(cls, seed: int, bitrate: int = 32000) -> EncodedProbe:
        with cls._shared_lock:
            key = (seed, bitrate)
            if key not in cls._shared:
                cls._shared[key] = cls(seed, bitrate)
            return cls._shared[key]

    def packet(self, index: int) -> bytes:
        """Packet ``index`` (probe samples ``[index * 960, (index + 1) * 960)``); encodes 1 s at a time."""
        while True:
            with self._lock:  # one block per hold, so a reader never waits for a long fill
                if index < len(self._packets):
                    return self._packets[index]
                self._packets.extend(self._encoder.encode_all(self._stream.read(RATE)))

    async def packet_async(self, index: int) -> bytes:
        """Like :meth:`packet`, but encoding runs in a worker thread, ahead of need.

        Encoding a second of probe takes tens of ms; done on the event loop it would delay every
        packet the loop sends or stamps (the uplink tap's arrival times) by as much.
        """
        loop = asyncio.get_running_loop()
        if index + ENCODE_AHEAD >= len(self._packets) and self._filling is None:
            self._filling = loop.run_in_executor(None, self.packet, index + 2 * ENCODE_AHEAD)
            self._filling.add_done_callback(self._filled)
        if index < len(self._packets):
            return self._packets[index]
        return await loop.run_in_executor(None, self.packet, index)

    def _filled(self, _future: asyncio.Future[bytes]) -> None:
        self._filling = None


class _PacedTrack(MediaStreamTrack):
    """A track that returns one pre-encoded ``av.Packet`` per 20 ms, paced on ``time.monotonic``."""

    kind = "audio"

    def __init__(self, origin_s: float) -> None:
        super().__init__()
        self.origin_s = origin_s  # monotonic time of probe sample 0 (the call's downlink origin)
        self.index: int | None = None
        self.first_index: int | None = None
        self.sent = 0

    @abstractmethod
    async def payload(self, index: int) -> bytes:
        """The Opus packet that carries downlink frame ``index``."""

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        if self.index is None:
            self.index = max(0, int((time.monotonic() - self.origin_s) * 1000 // FRAME_MS))
            self.first_index = self.index
        else:
            self.index += 1
            delay = self.origin_s + self.index * FRAME_MS / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        packet = av.Packet(await self.payload(self.index))
        packet.pts = self.index * FRAME_SAMPLES
        packet.time_base = fractions.Fraction(1, RATE)
        self.sent += 1
        return packet


class ProbeTrack(_PacedTrack):
    def __init__(self, encoded: EncodedProbe, origin_s: float) -> None:
        super().__init__(origin_s)
        self.encoded = encoded

    async def payload(self, index: int) -> bytes:
        return await self.encoded.packet_async(index)


class SilenceTrack(_PacedTrack):
    """Opus-coded digital silence (one packet, encoded once)."""

    _packet: bytes | None = None

    async def payload(self, index: int) -> bytes:
        if SilenceTrack._packet is None:
            import numpy as np

            from harness.audio.opus import OpusEncoder

            zeros = np.zeros(FRAME_SAMPLES, np.float32)
            SilenceTrack._packet = OpusEncoder(rate=RATE, channels=1).encode(zeros)
        return SilenceTrack._packet
