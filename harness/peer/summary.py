"""A call's summary as ``harness peer`` prints it and keeps it (``<call dir>/summary.json``).

The same summary comes from a live peer at exit and from ``harness peer decode`` over the files a
killed peer left: sessions, packets, losses, the uplink WAVs and, per uplink axis, the analyzer's
gaps against the mouth probe (leading and trailing absence included), its coverage, level changes
and the capture's polarity.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SUMMARY_JSON = "summary.json"


def add_uplink_analysis(summary: dict[str, Any], wavs: dict[str, Path], seed: int | None) -> dict[str, Any]:
    """Add ``uplink_gaps_<axis>``, ``uplink_coverage_<axis>``, ``uplink_level_changes_<axis>`` and
    ``uplink_polarity_<axis>`` for each WAV (analysed against the mouth probe, or ``seed``'s)."""
    from harness.audio.analyze import analyze
    from harness.audio.probe import MOUTH_SEED, probe
    from harness.audio.wav import read_wav

    for axis, path in wavs.items():
        samples, rate = read_wav(path)
        ref = probe(len(samples) / rate + 2, MOUTH_SEED if seed is None else seed, rate)
        a = analyze(samples, rate, {"mouth": ref}, echo=False)
        summary[f"uplink_gaps_{axis}"] = [g.to_dict() for g in a.gaps]
        summary[f"uplink_coverage_{axis}"] = round(a.coverage, 3)
        summary[f"uplink_level_changes_{axis}"] = [c.to_dict() for c in a.level_changes]
        summary[f"uplink_polarity_{axis}"] = a.polarity
    return summary


def summary_line(s: dict[str, Any]) -> str:
    """One line per call, for a person reading the peer's output."""
    gaps = {axis: len(s.get(f"uplink_gaps_{axis}", [])) for axis in ("rtp", "arrival")}
    line = (f"{s['call']}: {s['duration_s']:.1f} s, {s['sessions']} session(s), "
            f"{s['reconnects']} reconnect(s), {s['packets']} packets, {s['lost']} lost, "
            f"uplink gaps rtp={gaps['rtp']} arrival={gaps['arrival']}")
    if "uplink_coverage_rtp" in s:
        line += f", coverage rtp={s['uplink_coverage_rtp'] * 100:.1f} %"
    missing = [g for g in s.get("uplink_gaps_rtp", []) if g.get("kind") in ("missing-start", "missing-end")]
    for g in missing:
        line += f", {g['kind']} {g['duration_ms'] / 1000:.1f} s"
    return line


def write_summary(call_dir: str | os.PathLike[str], summary: dict[str, Any]) -> Path:
    """``<call dir>/summary.json``, written atomically."""
    path = Path(call_dir) / SUMMARY_JSON
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
