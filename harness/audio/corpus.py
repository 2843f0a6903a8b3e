"""A seeded impairment corpus with ground truth, for the analyzer's tests and benchmarks.

Each :class:`Case` is a reference probe, a capture made from it by a chain of impairments, and the
truth: where each gap is on the capture clock, whether its audio was lost or delayed, the latency
at the start and the gain per segment. Everything is deterministic for a given seed.

Impairments (composable, see :data:`CONDITIONS`):

* playout gaps in the sample domain (an audio unit stopping), 5 ms to 2 s, *lost* (content
  skipped) or *delayed* (content resumes where it stopped), filled with silence, comfort noise or
  a decaying repeat of the last 10 ms (concealment-like);
* real libopus at 12-64 kbit/s with packet loss concealment: packets dropped singly and in bursts
  (the decoder is fed ``None``: *lost*), or a stall where the decoder conceals and then plays the
  late packet (*delayed*), like a jitter buffer underrun;
* jitter-buffer accelerate/expand: 2.5-10 ms chunks removed or repeated with a cross-fade;
* +/-200 ppm clock drift, +/-20 dB gain ramps, gain steps at gaps, white noise at 10-30 dB SNR,
  WebRTC noise suppression and AGC (``webrtc-noise-gain``, 16 kHz), HFP band limits (8 and
  16 kHz) and a 44.1 kHz round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import signal as sps

from harness.audio.opus import OpusDecoder, OpusEncoder
from harness.audio.probe import DOWNLINK_SEED, probe

RATE = 48000
FRAME = 960  # 20 ms Opus frames
GAP_MS_MIN = 20.0  # truth gaps at least this long must be found (shorter ones are glitches)


@dataclass(frozen=True)
class TrueGap:
    start_s: float
    end_s: float
    kind: str  # lost | delayed
    fill: str

    @property
    def duration_ms(self) -> float:
        return (self.end_s - self.start_s) * 1000


@dataclass
class Case:
    name: str
    condition: str
    seed: int
    rate: int
    reference: np.ndarray
    capture: np.ndarray
    gaps: list[TrueGap]
    latency_ms: float  # at the start
    segment_gain_db: list[float]  # gain applied per segment (between gaps), in order
    codec: bool  # True if a lossy codec changes the level (compare levels relative to the first segment)
    bitrate: int | None = None
    jumps: int = 0  # accelerate/expand events (skips/repeats, not gaps)
    notes: dict[str, float] = field(default_factory=dict)


# --- building blocks -----------------------------------------------------------------------------


@dataclass
class _Plan:
    """Gaps to insert: (reference position in samples, duration in samples, kind, fill)."""

    events: list[tuple[int, int, str, str]]


def _plan_gaps(
    rng: np.random.Generator, seconds: float, sizes_ms: list[float], rate: int, grid: int = 1
) -> _Plan:
    """Gaps one after another in reference time, 0.5-1.1 s of audio between them."""
    events = []
    pos = int(rng.uniform(0.6, 1.0) * rate)
    for size in sizes_ms:
        pos -= pos % grid
        dur = round(size / 1000 * rate)
        if grid > 1:
            dur = max(grid, dur - dur % grid)
        kind = "lost" if rng.random() < 0.5 else "delayed"
        fill = str(rng.choice(["silence", "comfort", "conceal"]))
        events.append((pos, dur, kind, fill))
        pos += dur + int(rng.uniform(0.5, 1.1) * rate)
    return _Plan(events)


def _fill(kind: str, n: int, before: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if kind == "silence":
        return np.zeros(n, dtype=np.float32)
    if kind == "comfort":
        return (rng.standard_normal(n) * 10 ** (-55 / 20)).astype(np.float32)
    # concealment-like noise: the last 20 ms's spectrum with random phases, decaying over 30 ms
    tail = before[-960:] if len(before) >= 960 else np.resize(before, 960)
    mag = np.abs(np.fft.rfft(tail))
    reps = -(-n // 960)
    frames = [np.fft.irfft(mag * np.exp(2j * np.pi * rng.random(len(mag))), 960) for _ in range(reps)]
    out = np.concatenate(frames)[:n] * np.exp(-np.arange(n) / (0.03 * RATE))
    return out.astype(np.float32)


def _playout(
    ref: np.ndarray, plan: _Plan, lead: int, seconds: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[TrueGap]]:
    """Play ``ref`` from 0 after ``lead`` samples of silence, inserting the planned gaps."""
    out = [np.zeros(lead, dtype=np.float32)]
    pos, cap = 0, lead
    truth = []
    total = int(seconds * RATE)
    for rpos, dur, kind, fill in plan.events:
        if cap + (rpos - pos) + dur > total - int(0.3 * RATE):
            break
        out.append(ref[pos:rpos])
        cap += rpos - pos
        out.append(_fill(fill, dur, ref[:rpos], rng))
        truth.append(TrueGap(cap / RATE, (cap + dur) / RATE, kind, fill))
        cap += dur
        pos = rpos + dur if kind == "lost" else rpos
    out.append(ref[pos : pos + max(0, total - cap)])
    return np.concatenate(out)[:total], truth


def _opus_path(
    ref: np.ndarray, bitrate: int, plan: _Plan, lead_frames: int, seconds: float
) -> tuple[np.ndarray, list[TrueGap], float]:
    """Encode ``ref``, drop (lost) or stall (delayed) packets per the plan, decode with PLC."""
    enc = OpusEncoder(RATE, 1, bitrate)
    packets = enc.encode_all(ref)
    dec = OpusDecoder(RATE, 1)
    out = [np.zeros(lead_frames * FRAME, dtype=np.float32)]
    cap = lead_frames * FRAME
    truth = []
    events = {rpos // FRAME: (dur // FRAME, kind) for rpos, dur, kind, _ in plan.events}
    i = 0
    total = int(seconds * RATE)
    while cap < total and i < len(packets):
        if i in events and cap + events[i][0] * FRAME <= total - int(0.3 * RATE):
            k, kind = events.pop(i)
            start = cap
            for _ in range(k):
                out.append(dec.decode(None, FRAME))
                cap += FRAME
            truth.append(TrueGap(start / RATE, cap / RATE, kind, "plc"))
            if kind == "lost":
                i += k
                continue
        out.append(dec.decode(packets[i], FRAME))
        cap += FRAME
        i += 1
    capture = np.concatenate(out)[:total]
    return capture, truth, enc.lookahead / RATE * 1000


def _resample(x: np.ndarray, up: int, down: int) -> np.ndarray:
    return sps.resample_poly(x, up, down).astype(np.float32)


def _stretch(x: np.ndarray, ppm: float) -> np.ndarray:
    """Play ``x`` on a clock ``ppm`` faster: (1 + ppm/1e6) times as many samples."""
    den = 5000
    up = round(den * (1 + ppm * 1e-6))
    return _resample(x, up, den)


def _noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    p = float(np.mean(x.astype(np.float64) ** 2))
    return (x + rng.standard_normal(len(x)) * np.sqrt(p / 10 ** (snr_db / 10))).astype(np.float32)


def _webrtc_ns_agc(x: np.ndarray, auto_gain_dbfs: int = 3, ns_level: int = 2) -> np.ndarray:
    from webrtc_noise_gain import AudioProcessor

    proc = AudioProcessor(auto_gain_dbfs, ns_level)
    x16 = _resample(x, 1, 3)
    pcm = (np.clip(x16, -1, 1) * 32767).astype("<i2")
    n = len(pcm) // 160 * 160
    out = bytearray()
    for k in range(0, n, 160):
        out += proc.Process10ms(pcm[k : k + 160].tobytes()).audio
    y16 = np.frombuffer(bytes(out), dtype="<i2").astype(np.float32) / 32768
    y = _resample(y16, 3, 1)[_NS_AGC_DELAY:]  # the processor delays by 6 ms: keep the truth's clock
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


_NS_AGC_DELAY = 288  # samples at 48 kHz (measured: webrtc-noise-gain 1.3 adds 6 ms)


def _jitter(
    x: np.ndarray, rng: np.random.Generator, events: int, truth: list[TrueGap]
) -> tuple[np.ndarray, int, list[TrueGap]]:
    """Accelerate/expand: remove or repeat 2.5-10 ms chunks with a 1 ms cross-fade (gaps move)."""
    fade = 48
    y = x.copy()
    done = 0
    avoid = truth
    for _ in range(events):
        at = int(rng.uniform(0.5, len(y) / RATE - 0.5) * RATE)
        if any(abs(at / RATE - g.start_s) < 0.2 or abs(at / RATE - g.end_s) < 0.2 for g in avoid):
            continue
        n = int(rng.uniform(2.5, 10.0) / 1000 * RATE)
        w = np.linspace(0, 1, fade, dtype=np.float32)
        if rng.random() < 0.5:  # accelerate: drop n samples
            xf = y[at : at + fade] * (1 - w) + y[at + n : at + n + fade] * w
            y = np.concatenate([y[:at], xf, y[at + n + fade :], np.zeros(n, np.float32)])
            shift = -n
        else:  # expand: play the last n samples again
            xf = y[at - fade : at] * (1 - w) + y[at - n - fade : at - n] * w
            y = np.concatenate([y[: at - fade], xf, y[at - n : len(y) - n]])
            shift = n
        avoid = [replace(g, start_s=g.start_s + shift / RATE, end_s=g.end_s + shift / RATE)
                 if g.start_s > at / RATE else g for g in avoid]
        done += 1
    return y[: len(x)], done, avoid


def _gain_steps(
    x: np.ndarray, gaps: list[TrueGap], rng: np.random.Generator
) -> tuple[np.ndarray, list[float]]:
    """A new gain after every gap of >= 20 ms (the level an app resumes at)."""
    gaps = [g for g in gaps if g.duration_ms >= GAP_MS_MIN]
    gains = [0.0] + [float(rng.uniform(-20, 20)) for _ in gaps]
    y = x.copy()
    bounds = [0] + [round((g.start_s + g.end_s) / 2 * RATE) for g in gaps] + [len(x)]
    for k, gdb in enumerate(gains):
        y[bounds[k] : bounds[k + 1]] *= 10 ** (gdb / 20)
    return y, gains


def _gain_ramp(x: np.ndarray, db: float) -> np.ndarray:
    return (x * 10 ** (np.linspace(0, db, len(x)) / 20)).astype(np.float32)


# --- conditions ----------------------------------------------------------------------------------

GAP_SIZES_MS = [5, 10, 15, 20, 30, 40, 60, 100, 200, 500, 1000, 2000]
OPUS_GAP_MS = [20, 40, 60, 100, 200, 500, 1000, 2000]

# name -> (opus bitrate or None, post-impairments)
CONDITIONS: dict[str, tuple[int | None, tuple[str, ...]]] = {
    "clean": (None, ()),
    "opus12": (12000, ()),
    "opus16": (16000, ()),
    "opus24": (24000, ()),
    "opus32": (32000, ()),
    "opus64": (64000, ()),
    "clean+level": (None, ("steps",)),
    "opus32+drift+200": (32000, ("drift+200",)),
    "opus32+drift-200": (32000, ("drift-200",)),
    "opus32+ramp20": (32000, ("ramp+20",)),
    "opus32+ramp-20": (32000, ("ramp-20",)),
    "opus24+noise10": (24000, ("noise10",)),
    "clean+noise20": (None, ("noise20",)),
    "opus32+noise30": (32000, ("noise30",)),
    "opus32+ns_agc": (32000, ("ns_agc",)),
    "hfp8k": (None, ("band8k",)),
    "hfp16k+opus16": (16000, ("band16k",)),
    "resample44k": (None, ("resample44k",)),
    "opus32+jitter": (32000, ("jitter",)),
}
NO_GAP_CONDITIONS = ("clean", "opus12", "opus16", "opus24", "opus32", "opus64")


def make_case(
    condition: str, seed: int, seconds: float = 12.0, gaps: bool = True, ref_seed: int = DOWNLINK_SEED
) -> Case:
    """One corpus case; ``gaps=False`` gives an impairment-only capture (for false-gap checks)."""
    bitrate, post = CONDITIONS[condition]
    rng = np.random.Generator(np.random.PCG64([seed, sum(map(ord, condition))]))
    ref = probe(seconds + 3.0, ref_seed, RATE)
    if bitrate is None:
        sizes = [float(s) for s in rng.permutation(GAP_SIZES_MS)[: int(seconds // 1.6)]] if gaps else []
        plan = _plan_gaps(rng, seconds, sizes, RATE)
        lead = int(rng.uniform(0.005, 0.08) * RATE)
        capture, truth = _playout(ref, plan, lead, seconds, rng)
        latency = lead / RATE * 1000
    else:
        sizes = [float(s) for s in rng.permutation(OPUS_GAP_MS)[: int(seconds // 1.6)]] if gaps else []
        plan = _plan_gaps(rng, seconds, sizes, RATE, grid=FRAME)
        lead_frames = int(rng.integers(1, 4))
        capture, truth, lookahead_ms = _opus_path(ref, bitrate, plan, lead_frames, seconds)
        latency = lead_frames * FRAME / RATE * 1000 + lookahead_ms
    gains = [0.0] * (sum(g.duration_ms >= GAP_MS_MIN for g in truth) + 1)
    jumps = 0
    notes: dict[str, float] = {}
    for p in post:
        if p == "steps":
            capture, gains = _gain_steps(capture, truth, rng)
        elif p.startswith("drift"):
            ppm = float(p[5:])
            capture = _stretch(capture, ppm)[: len(capture)]
            f = 1 + ppm * 1e-6
            truth = [replace(g, start_s=g.start_s * f, end_s=g.end_s * f) for g in truth]
            latency *= f
            notes["drift_ppm"] = ppm
        elif p.startswith("ramp"):
            capture = _gain_ramp(capture, float(p[4:]))
            notes["ramp_db"] = float(p[4:])
        elif p.startswith("noise"):
            capture = _noise(capture, float(p[5:]), rng)
            notes["snr_db"] = float(p[5:])
        elif p == "ns_agc":
            capture = _webrtc_ns_agc(capture)
            notes["agc"] = 1.0
        elif p == "band8k":
            capture = _resample(_resample(capture, 1, 6), 6, 1)[: len(capture)]
        elif p == "band16k":
            capture = _resample(_resample(capture, 1, 3), 3, 1)[: len(capture)]
        elif p == "resample44k":
            capture = _resample(_resample(capture, 147, 160), 160, 147)[: len(capture)]
        elif p == "jitter":
            capture, jumps, truth = _jitter(capture, rng, 6, truth)
    name = f"{condition}#{seed}" + ("" if gaps else "/nogap")
    return Case(name, condition, seed, RATE, ref, capture.astype(np.float32), truth, latency, gains,
                codec=bitrate is not None or "ns_agc" in post, bitrate=bitrate, jumps=jumps, notes=notes)


def corpus(
    seeds: range = range(3), conditions: tuple[str, ...] | None = None, seconds: float = 12.0
) -> Iterator[Case]:
    for cond in conditions or tuple(CONDITIONS):
        for s in seeds:
            yield make_case(cond, s, seconds)


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class Detected:
    start_s: float
    end_s: float
    kind: str | None  # None: the detector does not say


@dataclass
class CaseScore:
    """One case scored against its truth (edge errors in ms, signed: + = late)."""

    name: str
    condition: str
    true_gaps: int = 0  # >= 20 ms
    found: int = 0
    false_gaps: int = 0
    kind_right: int = 0
    start_err_ms: list[float] = field(default_factory=list)
    end_err_ms: list[float] = field(default_factory=list)
    latency_err_ms: float | None = None
    level_err_db: list[float] = field(default_factory=list)
    short_true: int = 0  # 5-20 ms gaps
    short_found: int = 0


def naive_silence_gaps(capture: np.ndarray, rate: int, threshold_dbfs: float = -50.0) -> list[Detected]:
    """The baseline: 10 ms frames under an RMS threshold, runs of >= 2 frames (20 ms) are gaps."""
    n = rate // 100
    frames = len(capture) // n
    x = capture[: frames * n].astype(np.float64).reshape(frames, n)
    quiet = np.sqrt((x * x).mean(axis=1)) < 10 ** (threshold_dbfs / 20)
    out = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= 2 and a > 0 and b < frames:  # leading/trailing silence is not a gap
            out.append(Detected(a * n / rate, b * n / rate, None))
    return out


def score(case: Case, detected: list[Detected], latency_ms: float | None = None,
          levels: list[tuple[float, float, float]] | None = None, min_ms: float = GAP_MS_MIN) -> CaseScore:
    """Match detections to the truth. ``levels``: (mid time s, level_db, level_vs_first_db) per segment."""
    sc = CaseScore(case.name, case.condition)
    tol = 0.015
    used: set[int] = set()
    for g in case.gaps:
        hits = [i for i, d in enumerate(detected)
                if d.start_s < g.end_s + tol and d.end_s > g.start_s - tol and i not in used]
        if g.duration_ms < min_ms:
            sc.short_true += 1
            if hits:
                sc.short_found += 1
                used.add(hits[0])
            continue
        sc.true_gaps += 1
        if not hits:
            continue
        i = min(hits, key=lambda k: abs(detected[k].start_s - g.start_s))
        used.add(i)
        d = detected[i]
        sc.found += 1
        sc.start_err_ms.append((d.start_s - g.start_s) * 1000)
        sc.end_err_ms.append((d.end_s - g.end_s) * 1000)
        sc.kind_right += int(d.kind == g.kind)
    sc.false_gaps = sum(1 for i, d in enumerate(detected)
                        if i not in used and (d.end_s - d.start_s) * 1000 >= min_ms)
    if latency_ms is not None:
        sc.latency_err_ms = abs(latency_ms - case.latency_ms)
    if levels and "ramp_db" not in case.notes and "agc" not in case.notes:
        bounds = [(g.start_s + g.end_s) / 2 for g in case.gaps if g.duration_ms >= GAP_MS_MIN]
        for mid, level, vs_first in levels:
            k = int(np.searchsorted(bounds, mid))
            want = case.segment_gain_db[min(k, len(case.segment_gain_db) - 1)]
            if case.codec:
                sc.level_err_db.append(abs(vs_first - (want - case.segment_gain_db[0])))
            else:
                sc.level_err_db.append(abs(level - want))
    return sc



def detections_of(analysis) -> list[Detected]:
    """The analyzer's breaks (gaps and glitches) as detections."""
    breaks = sorted(analysis.gaps + analysis.glitches, key=lambda g: g.start_s)
    return [Detected(g.start_s, g.end_s, g.kind) for g in breaks]


def levels_of(analysis) -> list[tuple[float, float, float]]:
    return [((s.start_s + s.end_s) / 2, s.level_db, s.level_vs_first_db) for s in analysis.segments]
