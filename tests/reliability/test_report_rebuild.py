"""A killed `harness run` leaves a report folder `harness report OUT` rebuilds (reliability-probe.md §5,
issue 16 item 8). The first test builds a folder as a killed run leaves it; the second kills a real run
on the virtual lab (heavy: run it under /tmp/harness-heavy.lock)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.naming import safe_name as artifact_name
from harness.report.rebuild import INTERRUPTED

ROOT = Path(__file__).resolve().parents[2]


def _harness(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_report_from_progress_and_artifacts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ids = ["testcases/test_a.py::test_one", "testcases/test_a.py::test_two",
           "testcases/test_b.py::test_three"]
    for nodeid in ids:
        (out / "tests" / artifact_name(nodeid)).mkdir(parents=True)
    (out / "tests" / artifact_name(ids[2]) / "timeline.jsonl").write_text('{"t_ns": 1, "source": "mark", '
                                                                            '"kind": "call-started"}\n')
    records = [{"kind": "collected", "count": 5},
               {"kind": "test", "index": 1, "total": 5, "nodeid": ids[0], "name": "test_one",
                "outcome": "pass", "duration_s": 12.5, "metrics": {"resume_s": 0.8}},
               {"kind": "test", "index": 2, "total": 5, "nodeid": ids[1], "name": "test_two",
                "outcome": "app-failure", "rule": "resume-on-should-resume", "message": "never resumed"}]
    torn = '{"kind": "test", "nodeid": "torn'  # the run was killed mid-line
    text = "".join(json.dumps(r) + "\n" for r in records) + torn
    (out / "progress.jsonl").write_text(text)
    r = _harness("report", str(out))
    assert r.returncode == 4, r.stdout + r.stderr  # an interrupted test: the run cannot be trusted
    data = json.loads((out / "results.json").read_text())
    got = {t["nodeid"]: (t["outcome"], t["rule"], t["message"]) for t in data["tests"]}
    assert got[ids[0]] == ("pass", "", "") and got[ids[1]][:2] == ("app-failure", "resume-on-should-resume")
    assert got[artifact_name(ids[2])] == ("error", "", INTERRUPTED)
    meta = data["metadata"]
    assert (meta["collected"], meta["finished"], meta["interrupted"], meta["not_started"]) == (5, 2, 1, 2)
    assert data["tests"][0]["metrics"] == {"resume_s": 0.8}
    assert (out / "index.html").is_file() and "2 finished, 1 interrupted, 2 not started" in r.stdout
    # a complete folder is re-rendered from its results.json, unchanged
    (out / "index.html").unlink()
    assert _harness("report", str(out)).returncode == 4 and (out / "index.html").is_file()
    assert json.loads((out / "results.json").read_text())["tests"] == data["tests"]


def test_report_refuses_what_is_not_a_report_folder(tmp_path: Path) -> None:
    assert _harness("report", str(tmp_path / "none")).returncode == 2
    r = _harness("report", str(tmp_path))
    assert r.returncode == 2 and "not a report folder" in r.stderr


@pytest.mark.slow
def test_a_killed_run_is_rebuilt(tmp_path: Path) -> None:
    out, console = tmp_path / "out", tmp_path / "run.log"
    # as if started from inside a pytest-xdist worker (a CI job wrapped in pytest; this suite under
    # -n 2): the run's own pytest must still lease the lab's one dut, not worker 1's (none)
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw1"}
    with console.open("w") as log:
        run = subprocess.Popen([sys.executable, "-m", "harness", "run", "testcases/test_session_config.py",
                                "testcases/test_call_declined.py", "--out", str(out)], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 600
        while True:
            progress = out / "progress.jsonl"
            if progress.is_file() and '"kind": "test"' in progress.read_text():
                break
            assert run.poll() is None, "the run ended before its first test finished"
            assert time.monotonic() < deadline
            time.sleep(0.5)
        time.sleep(3)  # into the second test
        os.killpg(run.pid, signal.SIGKILL)  # harness run and its pytest: a lost CI runner
        run.wait()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        # the virtual lab runs in its own session (so a Ctrl-C never stops it mid-run): stop it here
        if (out / "virtual-lab" / "sim.json").is_file():
            _harness("sim", "down", "--state-dir", str(out / "virtual-lab"), timeout=60)
    assert not (out / "results.json").exists(), console.read_text()[-3000:]
    r = _harness("report", str(out))
    assert r.returncode in (0, 1, 3, 4), r.stderr
    data = json.loads((out / "results.json").read_text())
    finished = [t for t in data["tests"] if t["message"] != INTERRUPTED]
    assert len(finished) >= 1 and finished[0]["name"] == "test_session_config"
    assert (out / "index.html").is_file()
    for peer in (out / "tests").glob("*/peer"):  # the interrupted test's uplink, rebuilt from its logs
        if list(peer.glob("call-*/*.rtplog")):
            assert _harness("peer", "decode", str(peer)).returncode == 0
            assert list(peer.glob("call-*/uplink-rtp.wav"))
