"""What a loaded 2-core host adds to a recording on its own, and the one rule the peer tests use to
set it aside: a stalled event loop (client and peer share one here, or run beside the whole suite)
can make packets late by more than the 60 ms late tolerance, and a close come late. The arrival
axis, and the tail both axes keep until the close (wall time), honestly show that; the RTP axis
before its last packet is exact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.audio.analysis.result import Gap

STALL_MS = 150.0  # shorter wall-clock gaps are this host's stalls (CI has shown ~100 ms)


def real_gaps(gaps: Sequence[Gap | Mapping[str, Any]], axis: str) -> list[Any]:
    """``gaps`` (analysis gaps, or their dicts from a summary) without this host's stalls on ``axis``."""
    def field(g: Gap | Mapping[str, Any], name: str) -> Any:
        return g[name] if isinstance(g, Mapping) else getattr(g, name)

    def wall_clock(g: Gap | Mapping[str, Any]) -> bool:
        return axis == "arrival" or field(g, "kind") == "missing-end"

    return [g for g in gaps if not wall_clock(g) or field(g, "duration_ms") >= STALL_MS]
