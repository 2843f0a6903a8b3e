"""Rebuilding a record dir's calls from their packet logs (``harness peer decode RECORD_DIR``).

A killed peer leaves its packet logs whole (each record is flushed as it arrives; a torn last one
is skipped) and its timeline readable, but no WAVs and no summary. This module rebuilds both per
call folder, from the files alone: the sessions of a folder are its ``*.rtplog`` files in session
order (their header's ``index``), and the timeline (``peer-timeline.jsonl``, or a test's
``timeline.jsonl`` one folder up) says when each session was created and closed, and why. A
session without a ``closed`` event (the peer was killed) is taken as held until its last event
on the timeline; one that ended because the connection failed, until its last packet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.peer.rtp_log import log_totals, read_log, write_wavs
from harness.peer.session import CONNECTION_LOST
from harness.peer.summary import add_uplink_analysis, write_summary
from harness.timeline import read_events

TIMELINE_NAMES = ("peer-timeline.jsonl", "../timeline.jsonl")


@dataclass
class _SessionTimes:
    created_ns: int | None = None
    close_began_ns: int | None = None
    reason: str | None = None
    failed: bool = False
    last_ns: int | None = None


def find_timeline(record_dir: Path) -> Path | None:
    for name in TIMELINE_NAMES:
        path = (record_dir / name).resolve()
        if path.is_file():
            return path
    return None


def session_times(timeline: Path | None) -> dict[str, _SessionTimes]:
    """Per session id: when the timeline saw it created, its close begin (and why) and last."""
    out: dict[str, _SessionTimes] = {}
    if timeline is None:
        return out
    try:
        events = read_events(timeline)
        for e in events:
            sid = e.fields.get("session")
            if e.source != "peer" or not isinstance(sid, str):
                continue
            t = out.setdefault(sid, _SessionTimes())
            t.last_ns = max(t.last_ns or e.t_ns, e.t_ns)
            if e.kind == "created":
                t.created_ns = e.t_ns
            elif e.kind == "closed":  # began_ns: when the close began (timelines before it: the event)
                began = e.fields.get("began_ns")
                t.close_began_ns = began if isinstance(began, int) else e.t_ns
                t.reason = str(e.fields.get("reason", ""))
            elif e.kind == "connection-state" and e.fields.get("state") == "failed":
                t.failed = True
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{timeline}: cannot read the timeline ({exc})") from None
    return out


def call_dirs(record_dir: Path) -> list[Path]:
    """Folders of ``record_dir`` that hold packet logs (one call of one peer run each)."""
    if not record_dir.is_dir():
        raise UsageError(f"{record_dir}: not a folder; give the --record-dir of a `harness peer` run")
    return sorted(d for d in record_dir.iterdir() if d.is_dir() and any(d.glob("*.rtplog")))


def rebuild_call(call_dir: Path, times: dict[str, _SessionTimes], analyze: bool = True,
                 seed: int | None = None) -> dict[str, Any]:
    """Write ``call_dir``'s WAVs and ``summary.json`` again from its logs; return the summary."""
    logs = []
    for path in call_dir.glob("*.rtplog"):
        meta, packets = read_log(path)
        logs.append((int(meta.get("index", 0)), path.name, path, meta, packets))
    logs.sort(key=lambda x: (x[0], x[1]))
    starts: list[int] = []
    ends: list[int] = []
    packets_total = lost_total = 0
    for _, _, _, meta, packets in logs:
        t = times.get(str(meta.get("session", "")), _SessionTimes())
        last_packet = packets[-1].arrival_ns if packets else None
        first = t.created_ns or (packets[0].arrival_ns if packets else None)
        if first is not None:
            starts.append(first)
        if t.reason == CONNECTION_LOST or (t.close_began_ns is None and t.failed):
            end = last_packet
        elif t.close_began_ns is not None:
            end = t.close_began_ns
        else:  # killed peer: held at least until its last sign of life
            end = max((x for x in (t.last_ns, last_packet) if x is not None), default=None)
        if end is not None:
            ends.append(end)
        totals = log_totals(packets, int(meta.get("clock_rate") or 48000))
        packets_total += totals["packets"]
        lost_total += totals["lost"]
    end_ns = max(ends) if ends else None
    for stale in call_dir.glob(".uplink-*.wav.*.tmp"):  # a decode killed mid-write left these
        stale.unlink(missing_ok=True)
    wavs = write_wavs([x[2] for x in logs], call_dir / "uplink", end_ns=end_ns)
    summary: dict[str, Any] = {
        "call": str(logs[0][3].get("call") or call_dir.name) if logs else call_dir.name,
        "folder": str(call_dir),
        "sessions": len(logs),
        "reconnects": max(0, len(logs) - 1),
        "duration_s": round((end_ns - min(starts)) / 1e9, 3) if starts and end_ns is not None else 0.0,
        "packets": packets_total,
        "lost": lost_total,
        "logs": [str(x[2]) for x in logs],
        "wavs": {k: str(v) for k, v in wavs.items()},
        "rebuilt": True,
    }
    if analyze:
        add_uplink_analysis(summary, wavs, seed)
    write_summary(call_dir, summary)
    return summary


def rebuild(record_dir: str | Path, timeline: str | Path | None = None, analyze: bool = True,
            seed: int | None = None) -> list[dict[str, Any]]:
    """Every call folder of ``record_dir`` rebuilt; their summaries."""
    record_dir = Path(record_dir)
    dirs = call_dirs(record_dir)
    tl = Path(timeline) if timeline is not None else find_timeline(record_dir)
    if tl is not None and not tl.is_file():
        raise UsageError(f"--timeline {tl}: no such file")
    times = session_times(tl)
    return [rebuild_call(d, times, analyze, seed) for d in dirs]
