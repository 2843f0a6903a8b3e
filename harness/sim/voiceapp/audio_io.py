"""The voice app's audio unit: the microphone track it sends and the player of what it receives.

Both run continuously on the phone's audio devices (PulseAudio PCMs of the virtual lab) and are
gated by one switch, ``running``: iOS stops an app's audio I/O when its session is interrupted,
and only the app can start it again.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from harness.audio.devices import StreamClock

RATE = 48000
FRAME = 960  # 20 ms
PREBUFFER = 3 * FRAME  # audio queued before playback (re)starts, so a restart does not underrun


ECHO_COUPLING_DB = {"speaker": -10.0, "receiver": -30.0}
"""How loud the phone's own output reaches its microphone, per route (inference: a handset's
speaker-to-mic path is strong, the receiver's weak; Bluetooth and wired outputs are not heard)."""
AEC_SUPPRESSION_DB = -45.0
"""What voice processing (the VPIO unit's echo canceller) leaves of that echo (inference)."""
ECHO_TAP_FRAMES = RATE // 5  # at most 200 ms of played audio wait for the microphone


class AudioUnit:
    """The phone's audio unit as the app drives it: run/stop switch, output gain, and the acoustic
    echo path from the current output route into the microphone, cancelled when the session's mode
    loads voice processing (voiceChat/videoChat)."""

    def __init__(self) -> None:
        self.running = False
        self.output_gain = 1.0
        self.started_ns = 0
        self.stopped_ns = 0
        self.voice_processing = True
        self.route = "receiver"
        self._echo: deque[np.ndarray] = deque()
        self._echo_frames = 0
        self._echo_lock = threading.Lock()

    def echo_gain(self) -> float:
        coupling = ECHO_COUPLING_DB.get(self.route)
        if coupling is None:
            return 0.0
        return 10 ** ((coupling + (AEC_SUPPRESSION_DB if self.voice_processing else 0.0)) / 20)

    def played(self, mono: np.ndarray) -> None:
        """The output thread hands over what reached the device (the echo's source)."""
        with self._echo_lock:
            self._echo.append(mono)
            self._echo_frames += len(mono)
            while self._echo_frames > ECHO_TAP_FRAMES:
                self._echo_frames -= len(self._echo.popleft())

    def echo(self, frames: int) -> np.ndarray:
        """The next ``frames`` of echo for the microphone (zeros when nothing was played)."""
        out = np.zeros(frames, dtype=np.float32)
        with self._echo_lock:
            n = 0
            while n < frames and self._echo:
                block = self._echo[0]
                take = min(frames - n, len(block))
                out[n:n + take] = block[:take]
                if take == len(block):
                    self._echo.popleft()
                else:
                    self._echo[0] = block[take:]
                self._echo_frames -= take
                n += take
        return out * self.echo_gain()

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.started_ns = time.monotonic_ns()

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.stopped_ns = time.monotonic_ns()


class MicrophoneTrack(MediaStreamTrack):
    """The uplink: 20 ms stereo s16 frames read from the phone's current input device.

    While the audio unit is stopped no frame is produced (no RTP is sent, as libwebrtc does when
    the audio unit stops); on restart the RTP timestamp jumps by the stopped time, so the peer
    sees the gap on both its arrival and timestamp axes.
    """

    kind = "audio"

    def __init__(self, unit: AudioUnit, device: str | int | None) -> None:
        super().__init__()
        import sounddevice as sd

        self._unit = unit
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=50)
        self._pts = 0
        self._t0: int | None = None
        self._stream = sd.InputStream(
            device=device, samplerate=RATE, channels=1, dtype="int16", blocksize=FRAME,
            callback=self._on_audio,
        )
        self._stream.start()

    def _on_audio(self, indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        echo = self._unit.echo(frames)
        block = indata[:, 0].copy()
        if echo.any():
            block = np.clip(block + echo * 32767, -32768, 32767).astype(np.int16)
        self._loop.call_soon_threadsafe(self._offer, block)

    def _offer(self, block: np.ndarray) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(block)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        while True:
            block = await self._queue.get()
            if self._unit.running:
                break
        now = time.monotonic_ns()
        if self._t0 is None:
            self._t0 = now
        elif self._unit.started_ns > self._last_ns:
            # restarted after a stop: the timestamp follows real time, as a capture clock does
            self._pts = max(self._pts, round((now - self._t0) * RATE / 1e9 / FRAME) * FRAME)
        self._last_ns = now
        stereo = np.repeat(block.reshape(1, -1), 2, axis=0).T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo), format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME
        return frame

    _last_ns = 0

    def stop(self) -> None:
        super().stop()
        self._stream.close()


class Player:
    """The downlink: decoded frames of the remote track played on the phone's output device.

    ``on_edge(playing, t_ns)`` reports when the output really starts or stops carrying audio
    (ground truth): the lab-clock time at which the first silenced block after a stop, or the first
    sample of received audio after a start, reaches the device.
    """

    def __init__(self, unit: AudioUnit, device: str | int | None,
                 on_edge: Callable[[bool, int], None] | None = None) -> None:
        import sounddevice as sd

        self._unit = unit
        self._on_edge = on_edge
        self.received = 0
        """Frames received from the peer so far (the app's own liveness check reads it)."""
        self._audible = False
        self._frames = 0  # frames handed to the stream so far
        self._clock = StreamClock()
        self._origins: deque[float] = deque(maxlen=50)
        self._buf: deque[np.ndarray] = deque()
        self._lock = threading.Lock()
        self._pending = np.zeros((0, 2), dtype=np.float32)
        self._stream = sd.OutputStream(
            device=device, samplerate=RATE, channels=2, dtype="float32", blocksize=FRAME,
            callback=self._on_audio,
        )
        self._stream.start()

    def feed(self, frame: av.AudioFrame) -> None:
        self.received += 1
        pcm = frame.to_ndarray().reshape(-1, 2).astype(np.float32) / 32768.0
        with self._lock:
            if not self._unit.running:
                return  # I/O stopped: what arrives now is never played
            self._buf.append(pcm)
            while sum(len(b) for b in self._buf) > RATE // 2:  # keep at most 0.5 s queued
                self._buf.popleft()

    def _edge(self, audible: bool) -> None:
        """Report the edge at the current block's first frame: stream frame -> stream time through
        the median of recent callbacks' DAC times (one callback's DAC time jitters by milliseconds
        through the ALSA pulse plugin; the frame count does not) -> lab clock."""
        self._audible = audible
        if self._on_edge is not None and self._origins:
            origin = float(np.median(self._origins))
            self._on_edge(audible, self._clock.to_ns(origin + self._frames / RATE))

    def _on_audio(self, outdata: np.ndarray, frames: int, time_info: Any, status: object) -> None:
        self._clock.update(time_info.currentTime, time.monotonic_ns())
        self._origins.append(time_info.outputBufferDacTime - self._frames / RATE)
        try:
            self._fill(outdata, frames)
        finally:
            self._frames += frames

    def _fill(self, outdata: np.ndarray, frames: int) -> None:
        with self._lock:
            if not self._unit.running:
                if self._audible:
                    self._edge(False)
                self._buf.clear()
                self._pending = self._pending[:0]
                outdata.fill(0)
                return
            if not self._audible and len(self._pending) + sum(len(b) for b in self._buf) < PREBUFFER:
                outdata.fill(0)  # (re)starting: wait for a playout cushion, as a jitter buffer does
                return
            while len(self._pending) < frames and self._buf:
                self._pending = np.concatenate([self._pending, self._buf.popleft()])
            n = min(frames, len(self._pending))
            outdata[:n] = self._pending[:n] * self._unit.output_gain
            outdata[n:] = 0
            self._unit.played(outdata[:, 0].copy())
            self._pending = self._pending[n:]
            if n and not self._audible:  # received audio reaches the device again
                self._edge(True)

    async def play(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                self.feed(await track.recv())
        except MediaStreamError:
            return

    def close(self) -> None:
        self._stream.close()
