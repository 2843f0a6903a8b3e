"""Writing a run's report folder: ``results.json``, ``index.html`` and per test ``device-log.txt``.

Called by the plugin at the end of a pytest session (``--harness-out DIR``), and by ``harness
watch`` / ``harness repro`` for the runs they make. ``results.json`` is written first: a plot that
cannot be drawn never costs the verdicts.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from harness.report.artifacts import ArtifactFolder, device_log_lines, gather, list_files
from harness.report.results import TestResult, exit_code, summarize, write_results

DEVICE_LOG = "device-log.txt"


def phone_names(meta: dict[str, Any]) -> dict[str, str]:
    """udid -> lab name, from the recorded device metadata and the lab file."""
    names = {str(f["udid"]): name for name, f in (meta.get("devices") or {}).items() if f.get("udid")}
    lab = meta.get("lab_file") or meta.get("lab")
    if lab and Path(str(lab)).is_file():
        try:
            from harness.lab.schema import Lab

            for d in Lab.load(str(lab)).devices:
                names.setdefault(d.udid, d.name)
        except Exception:  # a lab file that no longer loads only costs the names
            pass
    return names


def write_report(out: str | Path, results: list[TestResult], meta: dict[str, Any],
                 title: str = "harness run", keep_audio: str | None = None) -> dict[str, Any]:
    """Fill in each test's artifact list, write results.json, then device logs and index.html.

    ``keep_audio`` (``failures`` or ``all``; None: leave the folders as they are): once the report
    is written, prune passing tests' audio to excerpts (:mod:`harness.report.prune`), then write
    results.json and index.html again from what the report already read, so every link holds.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = phone_names(meta)
    _index_artifacts(out, results)
    data = write_results(out / "results.json", results, meta)
    folders: dict[str, ArtifactFolder | None] = {}
    for r in results:
        folder = _artifact_dir(out, r)
        if folder is None:
            folders[r.nodeid] = None
            continue
        try:
            ev = gather(folder, names)
            _write_device_log(ev)
            ev.files = list_files(folder)
            folders[r.nodeid] = ev
        except Exception:  # the report's own bug: say so in the page and on stderr, keep going
            traceback.print_exc()
            print(f"harness report: could not read the artifacts of {r.nodeid}", file=sys.stderr)
            folders[r.nodeid] = None
    _write_index(out, results, meta, data, folders, title)
    if keep_audio is not None:
        from harness.report.prune import prune_audio

        if prune_audio(results, folders, keep_audio):
            for folder_read in folders.values():
                if folder_read is not None:
                    folder_read.files = list_files(folder_read.dir)
            _index_artifacts(out, results)
            data = write_results(out / "results.json", results, meta)
            _write_index(out, results, meta, data, folders, title)
    return data


def _index_artifacts(out: Path, results: list[TestResult]) -> None:
    for r in results:
        folder = _artifact_dir(out, r)
        if folder is not None:
            r.artifacts.update(_artifact_index(out, folder))


def _write_index(out: Path, results: list[TestResult], meta: dict[str, Any], data: dict[str, Any],
                 folders: dict[str, ArtifactFolder | None], title: str) -> None:
    from harness.report.html import render_index

    html = render_index(out, results, meta, data["summary"], data["exit_code"], folders, title=title)
    tmp = out / "index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out / "index.html")


def _artifact_dir(out: Path, r: TestResult) -> Path | None:
    d = r.artifacts.get("dir")
    if not d:
        return None
    p = Path(d)
    if not p.is_absolute():
        p = out / p
    return p if p.is_dir() else None


def _artifact_index(out: Path, folder: Path) -> dict[str, Any]:
    def rel(p: Path) -> str:
        try:
            return p.resolve().relative_to(out.resolve()).as_posix()
        except ValueError:
            return str(p)

    files = list_files(folder)
    index: dict[str, Any] = {"dir": rel(folder)}
    if (folder / "timeline.jsonl").is_file():
        index["timeline"] = rel(folder / "timeline.jsonl")
    index["device_log"] = rel(folder / DEVICE_LOG)
    for key in ("audio", "excerpts", "peer", "screenshots"):
        index[key] = [rel(p) for p in files[key]]
    index["logs"] = [rel(p) for p in files["logs"] if p.name not in ("timeline.jsonl", DEVICE_LOG)]
    return index


def _write_device_log(ev: ArtifactFolder) -> None:
    lines = device_log_lines(ev.events, ev.phones, ev.start_ns)
    header = "# device log (os_trace) of this test; t = seconds since the test started (lab clock)\n"
    (ev.dir / DEVICE_LOG).write_text(header + "\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


__all__ = ["DEVICE_LOG", "exit_code", "phone_names", "summarize", "write_report"]
