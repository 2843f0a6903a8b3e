"""Our own libopus encoder and decoder (via opuslib), with packet loss concealment.

aiortc's Opus path is fixed (96 kbit/s, no PLC, a jitter buffer that smears gaps), so the harness
encodes and decodes itself: the peer decodes tapped RTP payloads here, calling
``decode(None)`` for every missing packet so libopus conceals it as a phone would, and the
impairment corpus runs the probe through real libopus at any bitrate.

Samples are float32 in [-1, 1], shape ``(n,)`` for mono and ``(n, channels)`` otherwise.
"""

from __future__ import annotations

import numpy as np
import opuslib
import opuslib.api.ctl
import opuslib.api.decoder
import opuslib.api.encoder

RATES = (8000, 12000, 16000, 24000, 48000)
APPLICATIONS = {"voip": opuslib.APPLICATION_VOIP, "audio": opuslib.APPLICATION_AUDIO,
                "lowdelay": opuslib.APPLICATION_RESTRICTED_LOWDELAY}


def _check_format(rate: int, channels: int) -> None:
    if rate not in RATES:
        raise ValueError(f"Opus runs at {RATES} Hz, not {rate}")
    if channels not in (1, 2):
        raise ValueError(f"Opus channels must be 1 or 2, not {channels}")


class OpusEncoder:
    """libopus encoder. ``encode(frame)`` takes exactly ``frame_samples`` samples per call."""

    def __init__(
        self,
        rate: int = 48000,
        channels: int = 1,
        bitrate: int = 32000,
        frame_ms: float = 20.0,
        application: str = "voip",
        complexity: int = 10,
        fec: bool = False,
        packet_loss_perc: int = 0,
        vbr: bool = True,
    ) -> None:
        _check_format(rate, channels)
        if application not in APPLICATIONS:
            raise ValueError(f"application must be one of {sorted(APPLICATIONS)}")
        self.rate, self.channels, self.bitrate = rate, channels, bitrate
        self.frame_samples = round(rate * frame_ms / 1000)
        self._enc = opuslib.Encoder(rate, channels, APPLICATIONS[application])
        self._enc.bitrate = int(bitrate)
        self._enc.complexity = int(complexity)
        self._enc.vbr = int(vbr)
        # opuslib 3.0.1's ``inband_fec`` setter drops its value (TypeError): call the CTL directly.
        opuslib.api.encoder.encoder_ctl(self._enc.encoder_state, opuslib.api.ctl.set_inband_fec, int(fec))
        self._enc.packet_loss_perc = int(packet_loss_perc)

    @property
    def lookahead(self) -> int:
        """Encoder delay in samples at ``rate`` (312 at 48 kHz for voip): decoded audio lags by it."""
        return int(self._enc.lookahead)

    def encode(self, frame: np.ndarray) -> bytes:
        pcm = _interleave(frame, self.channels)
        if pcm.size != self.frame_samples * self.channels:
            got = pcm.size // self.channels
            raise ValueError(f"expected {self.frame_samples} samples per frame, got {got}")
        return self._enc.encode_float(pcm.tobytes(), self.frame_samples)

    def encode_all(self, samples: np.ndarray) -> list[bytes]:
        """Encode a whole signal (zero-padded to whole frames) into one packet per frame."""
        n = self.frame_samples
        frames = -(-len(samples) // n)
        pad = frames * n - len(samples)
        if pad:
            widths = ((0, pad),) + ((0, 0),) * (np.ndim(samples) - 1)
            samples = np.pad(samples, widths)
        return [self.encode(samples[i * n:(i + 1) * n]) for i in range(frames)]


class OpusDecoder:
    """libopus decoder. ``decode(None)`` conceals a lost packet (libopus PLC)."""

    def __init__(self, rate: int = 48000, channels: int = 2) -> None:
        _check_format(rate, channels)
        self.rate, self.channels = rate, channels
        self._dec = opuslib.Decoder(rate, channels)

    def decode(self, payload: bytes | None, frame_samples: int = 960, fec: bool = False) -> np.ndarray:
        """Decode one packet; ``None`` (or b"") means lost: libopus synthesises ``frame_samples``.

        With ``fec=True`` and the packet *after* a loss as ``payload``, libopus recovers the lost frame
        from that packet's in-band FEC data (if the encoder sent any); otherwise it conceals.
        """
        data = payload or None
        raw = opuslib.api.decoder.decode_float(
            self._dec.decoder_state, data, len(data) if data else 0, frame_samples, bool(fec and data),
            channels=self.channels,
        )
        out = np.frombuffer(raw, dtype=np.float32)
        if self.channels == 1:
            return out.copy()
        return out.reshape(-1, self.channels).copy()

    def reset(self) -> None:
        self._dec.reset_state()


def _interleave(frame: np.ndarray, channels: int) -> np.ndarray:
    x = np.asarray(frame, dtype=np.float32)
    if channels == 1:
        if x.ndim == 2:
            x = x.mean(axis=1)
        return np.ascontiguousarray(x)
    if x.ndim == 1:
        x = np.repeat(x[:, None], channels, axis=1)
    return np.ascontiguousarray(x.reshape(-1))
