"""Rebuilding a report folder from what a run left (``harness report OUT``).

A ``harness run`` killed mid-run (``kill -9``, a lost CI runner) leaves its report folder without
``results.json`` and ``index.html``: those are written once pytest finishes. What it does leave is
enough: ``progress.jsonl`` (one record per finished test, appended and flushed as each test ends:
outcome, rule, lab tag, message, metrics) and each test's artifacts under ``tests/<test>/``
(timeline, captures, peer packet logs, device log). From them this module writes ``results.json``
and ``index.html`` again:

* every finished test with its recorded outcome;
* a test whose artifacts exist but that never finished is an ``error`` ("interrupted"): the run
  cannot be trusted, and its evidence is linked for a person to read;
* a complete folder (``results.json`` present) is re-rendered from it unchanged.

The peer's WAVs of an interrupted test are not needed for the report (the timeline and captures
are); ``harness peer decode OUT/tests/<test>/peer`` makes them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.naming import safe_name
from harness.report.results import TestResult, load_test_results, read_results, run_metadata

PROGRESS = "progress.jsonl"
RESULTS = "results.json"
INTERRUPTED = "interrupted: the run ended before this test finished (its artifacts are kept)"


def read_progress(path: Path) -> tuple[int | None, list[dict[str, Any]]]:
    """(tests collected, finished test records) from ``progress.jsonl``; a torn last line is skipped."""
    collected: int | None = None
    tests: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(rec, dict):
                    continue
                if rec.get("kind") == "collected":
                    collected = int(rec.get("count") or 0)
                elif rec.get("kind") == "test" and rec.get("nodeid"):
                    tests.append(rec)
    except FileNotFoundError:
        pass
    return collected, tests


def results_from_progress(out: Path) -> tuple[list[TestResult], dict[str, Any]]:
    """Test results and run metadata reconstructed from ``progress.jsonl`` and ``tests/``."""
    collected, records = read_progress(out / PROGRESS)
    fields = set(TestResult.__dataclass_fields__)
    results: list[TestResult] = []
    seen: set[str] = set()
    tests_dir = out / "tests"
    for rec in records:
        r = TestResult(**{k: v for k, v in rec.items() if k in fields and k != "artifacts"})
        folder = tests_dir / safe_name(r.nodeid)
        if folder.is_dir():
            r.artifacts = {"dir": f"tests/{folder.name}"}
        results.append(r)
        seen.add(folder.name)
    interrupted = 0
    if tests_dir.is_dir():
        for folder in sorted(p for p in tests_dir.iterdir() if p.is_dir() and p.name not in seen):
            results.append(TestResult(nodeid=folder.name, outcome="error", message=INTERRUPTED,
                                      artifacts={"dir": f"tests/{folder.name}"}))
            interrupted += 1
    not_started = None if collected is None else max(0, collected - len(records) - interrupted)
    meta = run_metadata({
        "rebuilt_at": time.time(), "rebuilt_from": PROGRESS, "collected": collected,
        "finished": len(records), "interrupted": interrupted, "not_started": not_started,
    })
    return results, meta


def rebuild_report(out: str | Path) -> dict[str, Any]:
    """Write ``results.json`` (unless the run wrote it) and ``index.html`` in ``out``; results.json's data."""
    from harness.report.build import write_report

    out = Path(out)
    if not out.is_dir():
        raise UsageError(f"{out}: not a folder; give the --out folder of a `harness run`")
    if (out / RESULTS).is_file():
        data = read_results(out / RESULTS)
        return write_report(out, load_test_results(data), data.get("metadata") or {})
    if not (out / PROGRESS).is_file() and not (out / "tests").is_dir():
        raise UsageError(f"{out}: holds neither {RESULTS}, {PROGRESS} nor tests/: not a report folder")
    results, meta = results_from_progress(out)
    return write_report(out, results, meta, title="harness run (rebuilt after it was interrupted)")
