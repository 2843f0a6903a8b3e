"""``harness merge`` of two runs on two virtual labs (two hosts' nightly folders), end to end:
one report with both labs' phones, the worst exit code by the project's precedence (an app failure,
1, outranks a lab fault, 3), links into each host's folder; ``harness run --history`` ingested
the run it made, and its failing test kept its whole recordings, as FLAC."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import sqlalchemy as sa

from harness.audio.capture import read_capture
from harness.errors import ExitCode
from harness.history.db import History
from harness.history.schema import results, runs
from tests.history.conftest import ROOT


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_merge_of_two_virtual_labs_is_one_report_with_the_worst_exit_code(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'history.sqlite'}"
    a, b, night = tmp_path / "hosts" / "lab-a", tmp_path / "hosts" / "lab-b", tmp_path / "night"
    run_a = harness("run", "testcases/test_call_declined.py", "--defect", "never_resumes", "--out", str(a),
                    "--history", db)
    assert run_a.returncode == ExitCode.APP_FAILURE, (run_a.stdout + run_a.stderr)[-4000:]
    assert "1 run(s) added" in run_a.stdout
    run_b = harness("run", "tests/cli/scenarios/lab_faults.py::test_recipe_ui_missing", "--out", str(b))
    assert run_b.returncode == ExitCode.LAB_FAULT, (run_b.stdout + run_b.stderr)[-4000:]

    merged = harness("merge", str(a), str(b), "--out", str(night))
    assert merged.returncode == ExitCode.APP_FAILURE, merged.stdout + merged.stderr  # 1 outranks 3
    data = json.loads((night / "results.json").read_text())
    assert data["exit_code"] == 1 and [p["exit_code"] for p in data["parts"]] == [1, 3]
    assert [p["path"] for p in data["parts"]] == ["../hosts/lab-a", "../hosts/lab-b"]
    labels = [p["label"] for p in data["parts"]]
    duts = {(d["host"], d["name"], d["udid"]) for d in data["metadata"]["devices"].values()
            if d["role"] == "dut"}
    assert {host for host, _, _ in duts} == set(labels) and len(duts) == 2  # each lab's phone
    by_host = {t["host"]: t for t in data["tests"]}
    assert by_host[labels[0]]["outcome"] == "app-failure" and by_host[labels[1]]["outcome"] == "lab-fault"
    assert by_host[labels[0]]["rule"] and by_host[labels[1]]["lab_tag"] == "recipe-miss"
    # links, not copies: the night holds only its three files; each link resolves into a host's folder
    assert sorted(p.name for p in night.iterdir()) == ["index.html", "junit.xml", "results.json"]
    html = (night / "index.html").read_text()
    for link in ("../hosts/lab-a/index.html#t0", "../hosts/lab-b/index.html#t0",
                 by_host[labels[0]]["artifacts"]["dir"] + "/"):
        assert f'href="{link}"' in html
        assert (night / link.split("#")[0]).exists()
    suites = ET.parse(night / "junit.xml").getroot()
    assert [s.get("name") for s in suites.iter("testsuite")] == labels
    assert suites.get("tests") == "2" and suites.get("failures") == "2"  # pytest fails both
    hosts = [p.get("value") for p in suites.iter("property") if p.get("name") == "host"]
    assert hosts == labels

    # the app failure kept its whole route captures, as FLAC, read by the harness's own reader
    test_dir = a / by_host[labels[0]]["artifacts"]["dir"].split("lab-a/", 1)[1]
    rec = read_capture(test_dir / "audio" / "receiver.wav")
    assert rec.path.suffix == ".flac" and rec.complete and len(rec.samples) / rec.rate > 5
    # --history: the run is in the database with its result, and the night's folder adds nothing new
    ingest = harness("history", "ingest", str(night), "--db", db)
    assert ingest.returncode == 0 and "1 run(s) added, 1 already there" in ingest.stdout, ingest.stdout
    h = History.open(db)
    try:
        with h.engine.connect() as c:
            rows = c.execute(sa.select(runs.c.host, runs.c.lab, results.c.outcome, results.c.device)
                             .join(results, results.c.run_id == runs.c.id).order_by(runs.c.started_at)).all()
    finally:
        h.close()
    assert [(r.lab, r.outcome) for r in rows] == [("virtual", "app-failure"), ("virtual", "lab-fault")]
