"""`harness devices` and `harness doctor` against `harness sim up`, and with no usbmuxd at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def harness(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """`harness sim up` with two phones (iOS 17.5 DUT, iOS 16.7 caller), usbmuxd/lockdownd only."""
    base = tmp_path_factory.mktemp("simup")
    env = {**os.environ, "XDG_DATA_HOME": str(base / "xdg")}
    env.pop("USBMUXD_SOCKET_ADDRESS", None)
    state = base / "state"
    log = open(base / "sim.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "harness", "sim", "up", "--phones", "2",
                             "--ios", "17.5,16.7", "--state-dir", str(state), "--extensions", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (state / "sim.json").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"harness sim up did not start: {(base / 'sim.log').read_text()}")
            time.sleep(0.1)
        yield {"env": env, "lab": state / "lab.yaml", "state": json.loads((state / "sim.json").read_text())}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _control(sim, method: str, path: str, body: dict) -> None:
    request = urllib.request.Request(sim["state"]["control_url"] + path, method=method,
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_devices_prints_a_table(sim):
    result = harness("devices", "--lab", str(sim["lab"]), env=sim["env"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["NAME", "UDID", "MODEL", "iOS", "BATTERY", "DEV", "MODE", "WDA", "NOTE"]
    lab = yaml.safe_load(sim["lab"].read_text())
    for device, line in zip(lab["devices"], lines[1:], strict=True):
        assert line.startswith(device["name"]) and device["udid"] in line
        assert f" {device['ios']} " in line and "87% charging" in line
        assert line.split()[-1] == "yes"  # WDA reachable


def test_devices_json_has_every_column(sim):
    result = harness("devices", "--lab", str(sim["lab"]), "--json", env=sim["env"])
    rows = json.loads(result.stdout)
    assert {r["developer_mode"] for r in rows} == {"on"} and {r["wda"] for r in rows} == {"yes"}


def test_doctor_says_ready_and_what_to_confirm_by_hand(sim):
    result = harness("doctor", "--lab", str(sim["lab"]), "--device", "Virtual iPhone A", env=sim["env"])
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("Virtual iPhone A (") and "iOS 17.5" in out
    for title in ("paired with this host", "Developer Mode on", "WDA up", "no passcode"):
        assert f"ok       {title}" in out
    for title in ("Siri enabled", "Auto-Lock off", "Focus / Do Not Disturb off",
                  "Silence Unknown Callers off", "Live Voicemail off", "Incoming Calls: Full Screen",
                  "caller saved as a contact", "Music has a song to play", "FaceTime signed in as"):
        assert f"by hand  {title}" in out
    assert "ok       WDA runner installed: found com.facebook.WebDriverAgentRunner.xctrunner" in out
    assert "ok       WDA runner's provisioning profile: 'iOS Team Provisioning Profile: " in out
    assert "=> READY, 9 to confirm by hand" in out
    assert "Virtual iPhone B" not in out


def test_doctor_names_each_miss_with_its_fix(sim):
    udid = sim["state"]["phones"][1]["udid"]
    _control(sim, "PATCH", f"/phones/{udid}", {"battery_level": 9, "charging": False, "developer_mode": False,
                                               "passcode_set": True, "ddi_mounted": False})
    try:
        result = harness("doctor", "--lab", str(sim["lab"]), "--device", udid, env=sim["env"])
    finally:
        _control(sim, "PATCH", f"/phones/{udid}", {"battery_level": 87, "charging": True,
                                                   "developer_mode": True, "passcode_set": False,
                                                   "ddi_mounted": True})
    assert result.returncode == 3, result.stdout + result.stderr
    out = result.stdout
    assert "FAIL     Developer Mode on: off" in out
    assert f"`pymobiledevice3 amfi enable-developer-mode --udid {udid}`" in out
    assert "Settings > Privacy & Security > Developer Mode" in out
    assert "FAIL     battery at least 30% or charging: 9%" in out and "plug it into a charging port" in out
    assert "FAIL     no passcode" in out and "Turn Passcode Off" in out
    assert "warn     developer disk image: Developer image not mounted: WDA runs now" in out
    assert "=> 3 to fix" in out


def test_devices_lists_a_detached_lab_phone_as_not_attached(sim):
    udid = sim["state"]["phones"][1]["udid"]
    _control(sim, "POST", f"/phones/{udid}/detach", {})
    try:
        result = harness("devices", "--lab", str(sim["lab"]), env=sim["env"])
    finally:
        _control(sim, "POST", f"/phones/{udid}/attach", {})
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if udid in line)
    assert line.startswith("Virtual iPhone B") and line.endswith("not attached")


def test_doctor_rejects_an_unknown_device(sim):
    result = harness("doctor", "--lab", str(sim["lab"]), "--device", "No Such Phone", env=sim["env"])
    assert result.returncode == 2
    assert "no device 'No Such Phone' in the lab" in result.stderr


@pytest.mark.parametrize("command", ["devices", "doctor"])
def test_without_usbmuxd_they_say_so_in_one_line(command, tmp_path):
    env = {**os.environ, "USBMUXD_SOCKET_ADDRESS": str(tmp_path / "no-usbmuxd.sock"),
           "XDG_DATA_HOME": str(tmp_path)}
    result = harness(command, env=env, timeout=30)
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    prefix = f"harness {command}: lab fault [usbmuxd-down]: no usbmuxd at "
    assert len(lines) == 1 and lines[0].startswith(prefix)
    assert "harness sim up" in lines[0]
