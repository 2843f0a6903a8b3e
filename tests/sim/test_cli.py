"""`harness sim up/down` as processes, and pymobiledevice3's CLI, unmodified, against them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.lab.schema import Lab
from harness.sim.ipa import build_ipa
from harness.sim.state import read_state, start_lab_process

PMD3 = [sys.executable, "-m", "pymobiledevice3"]
CORE = ["--extensions", "none"]  # usbmuxd/lockdownd only: the other parts test themselves


@pytest.fixture(scope="module")
def lab_process(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("simup")
    with start_lab_process(state_dir, phones=2, ios_versions="17.5,18.2", extra_args=CORE) as process:
        yield process
    assert read_state(state_dir) is None  # sim.json is removed on the way out


@pytest.fixture(scope="module")
def env(lab_process, tmp_path_factory):
    return {
        **os.environ,
        "USBMUXD_SOCKET_ADDRESS": lab_process.usbmuxd_address,
        "XDG_DATA_HOME": str(tmp_path_factory.mktemp("xdg")),
    }


def _pmd3(env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PMD3, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_state_files(lab_process):
    state = lab_process.state
    assert state["pid"] == lab_process.process.pid
    lab = Lab.load(lab_process.lab_yaml)  # the harness's own schema accepts it unchanged
    assert lab.usbmuxd == state["usbmuxd_address"] and lab.virtual
    assert [(d.role, d.ios) for d in lab.devices] == [("dut", "17.5"), ("caller", "18.2")]
    assert [p["udid"] for p in state["phones"]] == [d.udid for d in lab.devices]
    with urllib.request.urlopen(state["phones"][0]["wda_url"] + "/status", timeout=10) as r:
        assert json.loads(r.read())["value"]["ready"] is True


def test_usbmux_list_and_lockdown_info(lab_process, env):
    listed = _pmd3(env, "usbmux", "list")
    assert listed.returncode == 0, listed.stderr
    assert [d["UniqueDeviceID"] for d in json.loads(listed.stdout)] == [
        p["udid"] for p in lab_process.state["phones"]
    ]
    udid = lab_process.state["phones"][1]["udid"]
    info = _pmd3(env, "lockdown", "info", "--udid", udid)
    assert info.returncode == 0, info.stderr
    values = json.loads(info.stdout)
    assert values["ProductVersion"] == "18.2" and values["PhoneNumber"] == "+15550100002"


def test_apps_install_list_uninstall(lab_process, env, tmp_path):
    ipa = build_ipa(tmp_path / "Voice.ipa", "com.example.voice", "3.0", "7")
    udid = lab_process.state["phones"][0]["udid"]
    installed = _pmd3(env, "apps", "install", "--udid", udid, str(ipa))
    assert installed.returncode == 0, installed.stderr
    listed = _pmd3(env, "apps", "list", "--udid", udid)
    assert json.loads(listed.stdout)["com.example.voice"]["CFBundleShortVersionString"] == "3.0"
    removed = _pmd3(env, "apps", "uninstall", "--udid", udid, "com.example.voice")
    assert removed.returncode == 0, removed.stderr
    assert "com.example.voice" not in json.loads(_pmd3(env, "apps", "list", "--udid", udid).stdout)


def test_syslog_live_shows_a_record_posted_from_another_process(lab_process, env):
    udid = lab_process.state["phones"][0]["udid"]
    live = subprocess.Popen(
        [*PMD3, "syslog", "live", "--udid", udid], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        os.set_blocking(live.stdout.fileno(), False)
        seen = ""
        deadline = time.monotonic() + 60
        while "HARNESS-EVENT started" not in seen and time.monotonic() < deadline:
            _post(
                f"{lab_process.control_url}/phones/{udid}/log",
                {
                    "process": "VoiceApp",
                    "message": "HARNESS-EVENT started",
                    "subsystem": "com.example.voice",
                    "category": "harness",
                    "level": "info",
                },
            )
            time.sleep(0.3)
            try:
                seen += os.read(live.stdout.fileno(), 65536).decode(errors="replace")
            except BlockingIOError:
                pass
    finally:
        live.terminate()
        live.wait(10)
    assert "HARNESS-EVENT started" in seen
    assert "VoiceApp" in seen


def test_second_up_on_same_state_dir_is_a_usage_error(lab_process):
    result = subprocess.run(
        [sys.executable, "-m", "harness", "sim", "up", "--state-dir", str(lab_process.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "already runs" in result.stderr


@pytest.mark.parametrize("how", ["down", "sigint"])
def test_sim_down_and_ctrl_c_stop_the_lab(tmp_path, how):
    process = start_lab_process(tmp_path / how, phones=1, extra_args=CORE)
    socket_path = Path(process.usbmuxd_address)
    assert socket_path.exists()
    if how == "down":
        down = subprocess.run(
            [sys.executable, "-m", "harness", "sim", "down", "--state-dir", str(tmp_path / how)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert down.returncode == 0, down.stderr
    else:
        process.process.send_signal(signal.SIGINT)
    assert process.process.wait(30) == 0
    assert read_state(tmp_path / how) is None
    assert not socket_path.exists()


def test_sim_down_without_a_lab_is_a_usage_error(tmp_path):
    down = subprocess.run(
        [sys.executable, "-m", "harness", "sim", "down", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 2 and "no virtual lab runs" in down.stderr


def test_cli_reports_faults(lab_process, env, tmp_path):
    udid = lab_process.state["phones"][1]["udid"]
    faults = f"{lab_process.control_url}/phones/{udid}/faults"
    _post(faults, {"install_error": "ApplicationVerificationFailed", "passcode_locked": False})
    ipa = build_ipa(tmp_path / "Voice.ipa", "com.example.voice")
    failed = _pmd3(env, "apps", "install", "--udid", udid, str(ipa))
    assert failed.returncode != 0
    assert "ApplicationVerificationFailed" in failed.stdout + failed.stderr
    _post(faults, {"install_error": None, "passcode_locked": True})
    try:
        locked = _pmd3(env, "apps", "list", "--udid", udid)
        assert locked.returncode != 0
        assert "password protected" in (locked.stdout + locked.stderr).lower()
    finally:
        _post(faults, {"passcode_locked": False})
