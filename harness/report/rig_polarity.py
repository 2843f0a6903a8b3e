"""Each route capture's polarity, from the captures a run kept (``harness doctor --captures OUT``).

Real capture chains can invert the signal (a balanced-to-unbalanced adapter, some USB codecs, an
inverting preamp). The analyzer handles that by itself (an inverted capture is analysed inverted,
never called a gap), but the lab should know which routes of which phone do: it is a property of
the rig, and an unexpected one usually means a wrong cable. Captures live in a run's report folder,
``OUT/tests/<test>/audio/<route>.wav`` with their timing sidecar; the phone a test ran on is in
``results.json`` or ``progress.jsonl``. Per (phone, route) the newest capture in which the downlink
probe played gives the polarity (analysed against the probe, seed and origin from that test's
timeline, unless the verdict's analysis file beside it says).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

REFERENCE_MARGIN_S = 5.0


@dataclass(frozen=True)
class RoutePolarity:
    device: str  # the lab name of the phone ("" when the report does not say)
    route: str
    polarity: str | None  # "normal", "inverted", or None: the downlink probe is not in the capture
    capture: Path
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "route": self.route, "polarity": self.polarity,
                "capture": str(self.capture), "test": self.test}


def _devices_by_folder(out: Path) -> dict[str, str]:
    """Artifacts folder name -> the phone the test ran on, from results.json or progress.jsonl."""
    from harness.naming import safe_name
    from harness.report.rebuild import read_progress

    tests: list[dict[str, Any]] = []
    try:
        data = json.loads((out / "results.json").read_text(encoding="utf-8"))
        tests = list(data.get("tests") or [])
    except (OSError, ValueError, AttributeError):
        _, tests = read_progress(out / "progress.jsonl")
    return {safe_name(str(t.get("nodeid", ""))): str(t.get("device") or "") for t in tests}


def _downlink(timeline: Path) -> tuple[int, int | None]:
    """(probe seed, lab-clock origin of its sample 0) from a test's timeline."""
    from harness.audio.probe import DOWNLINK_SEED
    from harness.timeline import read_events

    if timeline.is_file():
        for e in read_events(timeline):
            if e.source == "peer" and e.kind == "downlink" and e.fields.get("mode") == "probe":
                origin = e.fields.get("origin_ns")
                return int(e.fields.get("seed", DOWNLINK_SEED)), int(origin) if origin is not None else None
    return DOWNLINK_SEED, None


def _recorded(wav: Path) -> tuple[bool, str | None]:
    """The polarity the verdict's own analysis recorded beside the capture
    (``audio/<route>.analysis.json``, ``{"analysis": {..., "polarity": ...}}``), if there is one."""
    path = wav.with_name(wav.stem + ".analysis.json")
    try:
        analysis = json.loads(path.read_text(encoding="utf-8")).get("analysis") or {}
    except (OSError, ValueError, AttributeError):
        return False, None
    if "polarity" not in analysis:
        return False, None
    return True, analysis["polarity"]


def capture_polarity(wav: Path, timeline: Path | None = None) -> str | None:
    """The polarity of one route capture against the downlink probe; None when it holds no probe.
    Read from the verdict's analysis file when the run wrote one, else analysed here."""
    from harness.audio.analyze import analyze
    from harness.audio.capture import read_capture
    from harness.audio.probe import probe

    known, polarity = _recorded(wav)
    if known:
        return polarity
    rec = read_capture(wav)
    samples = rec.samples if rec.samples.ndim == 1 else rec.samples[:, 0]  # float32, full scale 1.0
    seed, origin = _downlink(timeline) if timeline is not None else _downlink(Path("/nonexistent"))
    offset = max(0.0, (rec.time_of(0) - origin) / 1e9) if origin is not None and rec.anchors else 0.0
    ref = probe(offset + len(samples) / rec.rate + REFERENCE_MARGIN_S, seed, rate=rec.rate)
    return analyze(samples, rec.rate, {"downlink": ref}, echo=False).polarity


def route_polarities(out: str | Path) -> list[RoutePolarity]:
    """Per (phone, route) of report folder ``out``: the polarity of the newest capture in which the
    downlink probe played (a route a test never used says nothing), or None when none did."""
    out = Path(out)
    tests = out / "tests"
    if not tests.is_dir():
        return []
    devices = _devices_by_folder(out)
    captures: dict[tuple[str, str], list[tuple[float, Path, str]]] = {}
    for wav in tests.glob("*/audio/*.wav"):
        if not Path(str(wav) + ".timing.jsonl").is_file():
            continue
        folder = wav.parent.parent.name
        key = (devices.get(folder, ""), wav.stem)
        captures.setdefault(key, []).append((wav.stat().st_mtime, wav, folder))
    rows = []
    for (device, route), found in sorted(captures.items()):
        found.sort(key=lambda x: x[0], reverse=True)
        row = RoutePolarity(device, route, None, found[0][1], found[0][2])
        for _, wav, folder in found:
            try:
                polarity = capture_polarity(wav, wav.parent.parent / "timeline.jsonl")
            except (HarnessError, ValueError, OSError):  # an unreadable capture says nothing about polarity
                continue
            if polarity is not None:
                row = RoutePolarity(device, route, polarity, wav, folder)
                break
        rows.append(row)
    return rows
