"""Smaller report folders: a passing test keeps its analysis, plots and excerpts, not its audio.

``harness run --keep-audio failures`` (the default) keeps every file of a test that did not pass
(app failure, lab fault, error, or a teardown error) and, of a passing or skipped test, everything
but its recordings: the timeline, logs, screenshots, RTP logs, any analysis files beside the
captures, and the plots (drawn into ``index.html`` before anything is removed). Its route captures
become short excerpts around each interruption (the windows of the report's level plots) in
``audio-excerpts/<route>-<k>.flac``, readable by :func:`harness.audio.capture.read_capture`; only
routes that carried the call are cut, unless none was found to. The capture chain's file
(``audio-chain/``) and the peer's uplink WAVs (decoded from the RTP logs, which stay) go. The raw
device log (every line the phone's relay sent: thousands a second on a real phone) is kept
gzip-compressed (``device-log-raw.txt.gz``); its matched lines are on the timeline either way.

``--keep-audio all`` keeps every recording. Either way, a capture a killed writer left as WAV is
compressed to FLAC here (:func:`harness.audio.capture.compress_capture`).

Called by :func:`harness.report.build.write_report` after the report is written, with the evidence
that report read, so pruning never changes what the report shows; a crash in the middle leaves
more files, never fewer (each excerpt is written before its source is removed).
"""

from __future__ import annotations

import gzip
import shutil
import sys
import traceback
from pathlib import Path

from harness.audio.capture import CAPTURE_SUFFIXES, compress_capture, sidecar_path
from harness.device.os_trace import DEVICE_LOG_RAW
from harness.errors import UsageError
from harness.report.artifacts import EXCERPTS_DIR, ArtifactFolder
from harness.report.results import TestResult

KEEP_AUDIO = ("failures", "all")
PRUNED_OUTCOMES = ("pass", "skipped")
CHAIN_DIR = "audio-chain"  # harness.audio.rig.AudioRig.chain_dir, relative to the test's folder


def check_keep_audio(keep: str) -> str:
    if keep not in KEEP_AUDIO:
        raise UsageError(f"--keep-audio must be one of {', '.join(KEEP_AUDIO)}, not {keep!r}")
    return keep


def prunable(result: TestResult) -> bool:
    """A test whose recordings are not needed to understand it: it passed (or was skipped), cleanly."""
    return result.outcome in PRUNED_OUTCOMES and not result.teardown_error


def prune_audio(results: list[TestResult], evidence: dict[str, ArtifactFolder | None], keep: str) -> bool:
    """Prune (``failures``) or only compress (``all``) each test's recordings; True if a file changed."""
    check_keep_audio(keep)
    changed = False
    for r in results:
        ev = evidence.get(r.nodeid)
        if ev is None:
            continue
        try:
            changed |= compress_leftovers(ev.dir)
            if keep == "failures" and prunable(r):
                changed |= _prune(ev)
        except Exception:  # never lose the report over its clean-up: say so, keep the files
            traceback.print_exc()
            print(f"harness report: could not prune the recordings of {r.nodeid}", file=sys.stderr)
    return changed


def compress_leftovers(folder: Path) -> bool:
    """Compress captures still in WAV (a writer killed before it closed them); True if any was."""
    changed = False
    for side in sorted(folder.rglob("*.wav.timing.jsonl")):
        wav = side.with_name(side.name.removesuffix(".timing.jsonl"))
        if wav.is_file() and compress_capture(wav) != wav:
            changed = True
    return changed


def _prune(ev: ArtifactFolder) -> bool:
    from harness.report.bundle import cut_capture

    captures = [c for c in ev.captures if not c.error]
    carried = [c for c in captures if c.presence] or captures
    changed = False
    for cap in carried:
        for k, window in enumerate(ev.interruption_windows(), 1):
            cut = ev.dir / EXCERPTS_DIR / f"{cap.route}-{k}.wav"
            if cut_capture(cap.wav, cut, window) is not None:
                compress_capture(cut)
                changed = True
    doomed = list(ev.files["audio"])
    if (ev.dir / "peer").is_dir():
        doomed += [p for p in sorted((ev.dir / "peer").rglob("*")) if p.suffix in CAPTURE_SUFFIXES]
    for p in doomed:
        for twin in (p.with_suffix(s) for s in CAPTURE_SUFFIXES):  # a crash may have left both kinds
            twin.unlink(missing_ok=True)
            sidecar_path(twin).unlink(missing_ok=True)
        changed = True
    if (ev.dir / "audio").is_dir() and not any((ev.dir / "audio").iterdir()):
        (ev.dir / "audio").rmdir()
    if (ev.dir / CHAIN_DIR).is_dir():
        shutil.rmtree(ev.dir / CHAIN_DIR)
        changed = True
    for raw in ev.dir.rglob(DEVICE_LOG_RAW):
        changed |= gzip_file(raw)
    return changed


def gzip_file(path: Path) -> bool:
    """``path`` -> ``path.gz`` (written beside it, renamed, then the original removed: a crash leaves
    one readable file or both, never neither)."""
    gz, tmp = path.with_name(path.name + ".gz"), path.with_name(path.name + ".gz.tmp")
    with open(path, "rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(gz)
    path.unlink()
    return True
