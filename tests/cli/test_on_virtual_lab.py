"""``harness run``, ``repro`` and ``watch`` end to end on the virtual lab (each starts its own).

Lab faults injected through the virtual lab's control API give exit 3 with their tags; a defect
gives a repro bundle; SIGINT to ``harness watch`` writes the report of what a person did by hand
(here: a phone call placed and answered through the virtual phones' WDA).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.audio.capture import read_capture
from harness.errors import ExitCode
from harness.lab.virtual import read_state
from harness.timeline import read_events

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "testcases/test_call_answered_then_ended.py"


def harness(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_injected_lab_faults_exit_3_with_their_tags(tmp_path: Path) -> None:
    run = harness("run", "tests/cli/scenarios/lab_faults.py", "--out", str(tmp_path))
    text = run.stdout + run.stderr
    assert run.returncode == ExitCode.LAB_FAULT, text[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    tags = {t["name"]: (t["outcome"], t["lab_tag"]) for t in results["tests"]}
    assert tags["test_capture_goes_silent"] == ("lab-fault", "capture-silent"), tags
    outcome, tag = tags["test_phone_detaches"]
    assert outcome == "lab-fault" and tag in ("wda-down", "device-gone"), tags
    assert tags["test_phone_gone_before_the_test"] == ("lab-fault", "device-gone"), tags
    assert tags["test_capture_chain_drops_out"] == ("lab-fault", "capture-dropout"), tags
    assert tags["test_dropout_before_a_verdict_without_close"] == ("lab-fault", "capture-dropout"), tags
    assert tags["test_peer_unreachable"] == ("lab-fault", "peer-unreachable"), tags
    assert tags["test_recipe_ui_missing"] == ("lab-fault", "recipe-miss"), tags
    outcome, tag = tags["test_wda_dies"]
    assert outcome == "lab-fault" and tag.startswith("wda"), tags
    assert all(outcome == "lab-fault" for outcome, _ in tags.values()), tags
    # progress while it ran, then the summary table and where the report is
    assert "8 test(s) to run" in run.stdout
    assert "[1/8] lab-fault" in run.stdout and "[2/8] lab-fault" in run.stdout
    assert f"report: {tmp_path / 'index.html'}" in run.stdout
    assert 'name="lab_tag" value="device-gone"' in (tmp_path / "junit.xml").read_text()
    assert "lab-fault" in (tmp_path / "index.html").read_text()


def test_wda_errors_are_lab_faults_with_their_tags(tmp_path: Path) -> None:
    run = harness("run", "tests/cli/scenarios/wda_faults.py", "--out", str(tmp_path))
    text = run.stdout + run.stderr
    assert run.returncode == ExitCode.LAB_FAULT, text[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    tags = {t["name"]: (t["outcome"], t["lab_tag"]) for t in results["tests"]}
    assert tags == {
        "test_wda_unknown_error": ("lab-fault", "wda-error"),
        "test_wda_passcode_locked": ("lab-fault", "passcode-locked"),
        "test_wda_invalid_element_state": ("lab-fault", "wda-element-state"),
        "test_wda_no_such_element": ("lab-fault", "wda-no-element"),
    }, tags
    messages = {t["name"]: t.get("message", "") for t in results["tests"]}
    assert "Face ID & Passcode" in messages["test_wda_passcode_locked"], messages


def test_repro_until_fail_bundles_the_failing_run(tmp_path: Path) -> None:
    run = harness("repro", SCENARIO, "--device", "Virtual iPhone A", "--defect", "never_resumes",
                  "--until-fail", "--max", "2", "--out", str(tmp_path))
    assert run.returncode == ExitCode.APP_FAILURE, (run.stdout + run.stderr)[-4000:]
    assert "attempt 1/2: exit 1" in run.stdout
    bundle = tmp_path / "bundle"
    readme = (bundle / "README.txt").read_text()
    assert "app-failure" in readme and "--defect never_resumes" in readme
    assert "repro" in (bundle / "reproduce.sh").read_text()
    test_dir = next((bundle / "tests").iterdir())
    rec = read_capture(test_dir / "audio" / "receiver.wav")
    assert rec.complete and 5 < len(rec.samples) / rec.rate < 25
    assert "HARNESS-EVENT interruption-began" in (test_dir / "device-log-excerpt.txt").read_text()
    assert list((test_dir / "peer").rglob("*.wav"))
    html = (bundle / "index.html").read_text()
    assert 'class="timeline-plot"' in html and 'class="gap-band"' in html
    result = json.loads((bundle / "results.json").read_text())["tests"][0]
    assert result["outcome"] == "app-failure" and result["artifacts"]["audio"]


def test_watch_writes_the_report_on_sigint(tmp_path: Path) -> None:
    from harness.phone import Phone

    out = tmp_path / "watch"
    log = open(tmp_path / "watch.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "harness", "watch", "--device", "Virtual iPhone A",
                             "--out", str(out)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while "watching" not in (tmp_path / "watch.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "watch.log").read_text()
            time.sleep(0.2)
        state = read_state(out / "virtual-lab")
        phones = {p["role"]: p for p in state["phones"]}
        dut = Phone(phones["dut"]["wda_url"], name="dut", ios_version=phones["dut"]["ios"],
                    artifacts=tmp_path / "dut")
        caller = Phone(phones["caller"]["wda_url"], name="caller", ios_version=phones["caller"]["ios"],
                       artifacts=tmp_path / "caller")
        time.sleep(3)  # the call runs a while before the person's phone rings
        caller.dial("tel:+15550100001")
        dut.answer_call()
        time.sleep(2)
        caller.end_call()
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = (tmp_path / "watch.log").read_text()
    assert code == ExitCode.PASS, text[-3000:]
    assert f"report: {out / 'index.html'}" in text
    results = json.loads((out / "results.json").read_text())
    test = results["tests"][0]
    assert test["outcome"] == "pass" and test["metrics"]["sessions"] >= 1
    folder = out / test["artifacts"]["dir"]
    events = list(read_events(folder / "timeline.jsonl"))
    kinds = {(e.source, e.kind) for e in events}
    assert ("mark", "watch-started") in kinds and ("mark", "watch-stopped") in kinds
    assert any(e.kind == "app-event" and e.fields.get("event") == "interruption-began" for e in events)
    assert read_capture(folder / "audio" / "receiver.wav").complete
    html = (out / "index.html").read_text()
    assert 'class="timeline-plot"' in html and 'class="gap-band"' in html and 'class="level-plot"' in html
    assert not (out / "virtual-lab" / "sim.json").exists()  # the virtual lab was stopped
