"""A self-contained bundle of one failing test run, for a bug report.

``bundle/`` holds: ``README.txt`` (what failed, which rule, the commands to run it again),
``reproduce.sh``, ``results.json`` and ``index.html`` for that test alone, and under
``tests/<test>/``: the whole timeline, the route recordings cut to the window around the failure
(still readable by :func:`harness.audio.capture.read_capture`: their timing sidecars are cut too),
the peer's uplink recordings and RTP logs, the device log and its excerpt around the failure, and
the screenshots. Every link is relative: zip the folder and attach it.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.artifacts import device_log_lines, gather
from harness.report.build import DEVICE_LOG, write_report
from harness.report.results import TestResult

MARGIN_S = 5.0
EXCERPT = "device-log-excerpt.txt"


def failure_window(folder: Path, phones: dict[str, str] | None = None) -> tuple[int, int] | None:
    """Lab-clock window around what went wrong: the marks and the gaps, with a margin each side."""
    ev = gather(folder, phones)
    points = [e.t_ns for e in ev.events if e.source == "mark"]
    points += [t for band in ev.gap_bands() for t in band]
    if not points:
        return None
    return min(points) - int(MARGIN_S * 1e9), max(points) + int(MARGIN_S * 1e9)


def cut_capture(src: Path, dst: Path, window: tuple[int, int]) -> tuple[float, float] | None:
    """Write the part of capture ``src`` inside ``window`` to ``dst`` (+ sidecar); (start, end) s of src."""
    from harness.audio.capture import read_capture, sidecar_path
    from harness.audio.wav import write_wav

    rec = read_capture(src)
    if not rec.anchors:
        return None
    n = len(rec.samples)
    a = min(max(rec.frame_at(window[0]), 0), n)
    b = min(max(rec.frame_at(window[1]), a), n)
    if b <= a:
        return None
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_wav(dst, np.clip(rec.samples[a:b], -1.0, 1.0), rec.rate)
    lines: list[dict[str, Any]] = []
    with open(sidecar_path(rec.path), encoding="utf-8") as f:
        for line in f:
            try:
                lines.append(json.loads(line))
            except ValueError:
                break
    header = next(x for x in lines if x.get("kind") == "header")
    anchors = [{"kind": "anchor", "frame": 0, "t_ns": rec.time_of(a), "from": "cut"}]
    anchors += [{**x, "frame": int(x["frame"]) - a} for x in lines
                if x.get("kind") == "anchor" and a < int(x["frame"]) < b]
    status = [{**x, "frame": int(x["frame"]) - a} for x in lines
              if x.get("kind") == "status" and a <= int(x.get("frame", -1)) < b]
    body = [{**header, "sample_format": "int16", "cut_from": str(rec.path.name), "cut_frames": [a, b]},
            *anchors, *status, {"kind": "stop", "frames": b - a}]
    sidecar_path(dst).write_text("".join(json.dumps(x) + "\n" for x in body), encoding="utf-8")
    return a / rec.rate, b / rec.rate


def write_bundle(bundle: Path, result: TestResult, source_dir: Path, meta: dict[str, Any],
                 commands: dict[str, list[str]], phones: dict[str, str] | None = None) -> Path:
    """Build ``bundle`` from one test's artifacts folder ``source_dir``; return the bundle's index.html."""
    if bundle.exists():
        shutil.rmtree(bundle)
    name = source_dir.name
    dest = bundle / "tests" / name
    dest.mkdir(parents=True)
    window = failure_window(source_dir, phones)
    cuts: dict[str, Any] = {}
    for p in sorted(source_dir.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(source_dir)
        target = dest / rel
        if rel.parts[0] == "audio" and p.suffix in (".wav", ".flac") and window is not None:
            target = target.with_suffix(".wav")  # the cut of a FLAC capture is written as WAV
            try:
                span = cut_capture(p, target, window)
            except Exception as exc:  # a torn capture: keep it whole rather than lose it
                cuts[str(rel)] = f"kept whole ({exc})"
                span = None
            if span is not None:
                cuts[str(rel)] = {"from_s": round(span[0], 3), "to_s": round(span[1], 3)}
                continue
        cut_wav = dest / rel.parent / Path(p.name.removesuffix(".timing.jsonl")).with_suffix(".wav")
        if p.name.endswith(".timing.jsonl") and cut_wav.exists():
            continue  # the cut wrote its own sidecar
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
    ev = gather(dest, phones, analyze_routes=False)
    if window is not None:
        lines = device_log_lines(ev.events, ev.phones, ev.start_ns, window)
        (dest / EXCERPT).write_text(
            f"# device log around the failure ({(window[0] - ev.start_ns) / 1e9:.1f} to "
            f"{(window[1] - ev.start_ns) / 1e9:.1f} s since the test started)\n" + "\n".join(lines) + "\n",
            encoding="utf-8")
    copy = TestResult(**{**result.__dict__, "artifacts": {"dir": f"tests/{name}"},
                         "metrics": dict(result.metrics)})
    write_report(bundle, [copy], {**meta, "bundle": {"cuts": cuts, "commands": commands}},
                 title=f"repro bundle: {result.nodeid}")
    if not (dest / DEVICE_LOG).is_file():
        (dest / DEVICE_LOG).write_text("", encoding="utf-8")
    _write_readme(bundle, copy, commands, cuts, name)
    return bundle / "index.html"


def _write_readme(bundle: Path, r: TestResult, commands: dict[str, list[str]], cuts: dict[str, Any],
                  name: str) -> None:
    lines = [f"harness repro bundle: {r.nodeid}", "",
             f"outcome:  {r.outcome}" + (f" (rule {r.rule})" if r.rule else "")
             + (f" (lab tag {r.lab_tag})" if r.lab_tag else ""),
             f"device:   {r.device or '-'}", f"message:  {r.message}", ""]
    if r.teardown_error:
        lines += [f"teardown error: {r.teardown_error}", ""]
    lines += ["open index.html for the timeline, the level plots and the metrics.", "",
              "files:", f"  tests/{name}/timeline.jsonl        every event on the lab clock",
              f"  tests/{name}/{EXCERPT}  the device log around the failure ({DEVICE_LOG}: all of it)",
              f"  tests/{name}/audio/*.wav          route recordings around the failure:"]
    for rel, span in cuts.items():
        lines.append(f"      {rel}: " + (f"{span['from_s']}-{span['to_s']} s of the original"
                                         if isinstance(span, dict) else str(span)))
    lines += [f"  tests/{name}/peer/                uplink recordings and RTP logs",
              "  screenshots: any *.png under tests/", "", "run it again:"]
    for label, cmd in commands.items():
        if label == "cwd":
            lines.append(f"  in {cmd[0]}:")
        else:
            lines.append(f"  {label}:\n    {shlex.join(cmd)}")
    lines.append("  (or ./reproduce.sh)")
    (bundle / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = ["#!/bin/sh", "# run the failing scenario once more, as it ran when it failed", "set -e"]
    if commands.get("cwd"):
        script.append(f"cd {shlex.quote(commands['cwd'][0])}")
    runs = [(label, cmd) for label, cmd in commands.items() if label != "cwd"]
    for label, cmd in runs[1:]:
        script.append(f"# {label}: {shlex.join(cmd)}")
    if runs:
        script.append(shlex.join(runs[0][1]))
    path = bundle / "reproduce.sh"
    path.write_text("\n".join(script) + "\n", encoding="utf-8")
    path.chmod(0o755)
