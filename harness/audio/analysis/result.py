"""The analyzer's typed result and its stable JSON form.

Times are on the capture clock in seconds (``*_s``) or milliseconds (``*_ms``). A *lag* is
``reference sample - capture sample`` for aligned samples; latency is its negative (how much later
the capture holds the reference's content). Keys of :meth:`Analysis.to_dict` only ever get added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd) + 0.0  # + 0.0: no "-0.0" in JSON


@dataclass(frozen=True)
class Interval:
    start_s: float
    end_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": _r(self.start_s, 4), "end_s": _r(self.end_s, 4)}


@dataclass(frozen=True)
class Gap:
    """Probe audio missing from ``start_s`` to ``end_s``.

    ``kind`` is ``lost`` (the gap's audio never came: the latency after equals the latency before)
    or ``delayed`` (audio resumed where it stopped: latency grew by the gap); ``missing-start`` (the
    capture holds no probe from where it was due to the first match) or ``missing-end`` (none from
    the last match to the end of the capture, or of the reference if that ends first). ``lost_ms`` +
    ``added_delay_ms`` = ``duration_ms``; ``added_delay_ms`` is exact to a sample (it comes from the
    alignment on both sides), the edges carry their own uncertainty (concealment blurs starts).
    """

    start_s: float
    end_s: float
    duration_ms: float
    kind: str
    lost_ms: float
    added_delay_ms: float
    start_uncertainty_ms: float
    end_uncertainty_ms: float
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": _r(self.start_s, 5), "end_s": _r(self.end_s, 5),
            "duration_ms": _r(self.duration_ms, 2),
            "kind": self.kind, "lost_ms": _r(self.lost_ms, 2), "added_delay_ms": _r(self.added_delay_ms, 2),
            "start_uncertainty_ms": _r(self.start_uncertainty_ms, 2),
            "end_uncertainty_ms": _r(self.end_uncertainty_ms, 2), "reference": self.reference,
        }


@dataclass(frozen=True)
class Jump:
    """A skip (content jumped ahead) or repeat (content played again) with no gap, at ``at_s``."""

    at_s: float
    jump_ms: float  # > 0: skipped forward; < 0: repeated
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return {"at_s": _r(self.at_s, 5), "jump_ms": _r(self.jump_ms, 2), "reference": self.reference}


@dataclass(frozen=True)
class Segment:
    """A stretch of matched probe audio between breaks (gaps, skips, repeats)."""

    start_s: float
    end_s: float
    latency_ms: float
    level_db: float  # capture RMS relative to the aligned reference's RMS
    level_vs_first_db: float  # relative to the first segment (the level before the first break)
    match: float  # median normalised cross-correlation of its 10 ms windows
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": _r(self.start_s, 5), "end_s": _r(self.end_s, 5), "latency_ms": _r(self.latency_ms, 2),
            "level_db": _r(self.level_db, 2), "level_vs_first_db": _r(self.level_vs_first_db, 2),
            "match": _r(self.match, 3), "reference": self.reference,
        }


@dataclass(frozen=True)
class LevelChange:
    """The probe's level left its level at the start by more than the tolerance, with no gap needed.

    ``kind``: ``step`` (it stayed changed to the end of the match), ``dip`` (quieter, then back) or
    ``rise`` (louder, then back). ``change_db`` is the median level over the stretch relative to the
    level of the first second of matched audio.
    """

    start_s: float
    end_s: float
    change_db: float
    kind: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": _r(self.start_s, 3), "end_s": _r(self.end_s, 3),
                "change_db": _r(self.change_db, 2), "kind": self.kind, "reference": self.reference}


@dataclass(frozen=True)
class EchoPoint:
    t_s: float
    erl_db: float
    bound: bool  # True: no echo found, erl_db is only a lower bound

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": _r(self.t_s, 2), "erl_db": _r(self.erl_db, 1), "bound": self.bound}


@dataclass(frozen=True)
class Echo:
    """How far below its own level another direction's probe appears in this capture.

    ``erl_db`` is the echo return loss seen at the capture (acoustic loss plus whatever echo
    cancellation removed): large (> 40 dB, or only a bound) with voice processing on, small without.
    """

    reference: str
    lag_ms: float | None
    median_erl_db: float | None
    min_erl_db: float | None
    detected: bool
    over_time: list[EchoPoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "lag_ms": _r(self.lag_ms, 3),
            "median_erl_db": _r(self.median_erl_db, 1),
            "min_erl_db": _r(self.min_erl_db, 1), "detected": self.detected,
            "over_time": [p.to_dict() for p in self.over_time],
        }


@dataclass
class Analysis:
    rate: int
    duration_s: float
    reference: str | None  # the reference gaps, segments and latency are about (most present)
    latency_ms: float | None  # at the first matched audio
    drift_ppm: float | None  # capture clock vs reference clock (+: the capture has more samples)
    coverage: float  # matched time / the capture from where the probe was due to its end (1.0: no gaps)
    matched_s: float
    presence: dict[str, list[Interval]]
    gaps: list[Gap]
    skips: list[Jump]
    repeats: list[Jump]
    glitches: list[Gap]  # breaks shorter than 20 ms
    segments: list[Segment]
    echo: list[Echo]
    level_changes: list[LevelChange] = field(default_factory=list)
    polarity: str | None = None
    """``normal`` or ``inverted`` (the capture chain flips the signal's sign: a property of the rig,
    never a gap); None when no probe was found."""
    expected_s: float = 0.0
    """The stretch coverage is measured over: from where the probe was due to the capture's end."""
    unjudged_s: float = 0.0
    """Capture time after the reference ended: probe audio there cannot be checked (pass a longer
    reference)."""
    nonfinite_samples: int = 0
    """NaN or infinite capture samples, taken as silence."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "duration_s": _r(self.duration_s, 4),
            "reference": self.reference,
            "latency_ms": _r(self.latency_ms, 2),
            "drift_ppm": _r(self.drift_ppm, 1),
            "coverage": _r(self.coverage, 4),
            "matched_s": _r(self.matched_s, 3),
            "presence": {k: [iv.to_dict() for iv in v] for k, v in sorted(self.presence.items())},
            "gaps": [g.to_dict() for g in self.gaps],
            "skips": [j.to_dict() for j in self.skips],
            "repeats": [j.to_dict() for j in self.repeats],
            "glitches": [g.to_dict() for g in self.glitches],
            "level_db": [_r(s.level_db, 2) for s in self.segments],
            "segments": [s.to_dict() for s in self.segments],
            "echo": [e.to_dict() for e in self.echo],
            "level_changes": [c.to_dict() for c in self.level_changes],
            "polarity": self.polarity,
            "expected_s": _r(self.expected_s, 4),
            "unjudged_s": _r(self.unjudged_s, 4),
            "nonfinite_samples": self.nonfinite_samples,
        }


__all__ = ["Analysis", "Echo", "EchoPoint", "Gap", "Interval", "Jump", "LevelChange", "Segment"]
