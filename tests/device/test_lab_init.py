"""`harness lab init` against `harness sim up`: the file it writes is one `harness doctor` accepts.

The lab runs as its own process (as on a lab host); the command is run as a person runs it, with
stdin a pipe (no questions: roles come from the options) or a pseudo-terminal (it asks).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.lab.discover import Found, e164
from harness.lab.schema import Lab

ROOT = Path(__file__).resolve().parents[2]


def harness(*args: str, env: dict[str, str], cwd: Path, stdin: int | None = subprocess.DEVNULL,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """`harness sim up --extensions none`: two phones (a DUT and a caller), usbmuxd and lockdownd."""
    base = tmp_path_factory.mktemp("labinit")
    env = {**os.environ, "XDG_DATA_HOME": str(base / "xdg")}
    env.pop("USBMUXD_SOCKET_ADDRESS", None)
    state = base / "state"
    log = open(base / "sim.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "harness", "sim", "up", "--state-dir", str(state),
                             "--extensions", "none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (state / "sim.json").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"harness sim up did not start: {(base / 'sim.log').read_text()}")
            time.sleep(0.1)
        sim_state = json.loads((state / "sim.json").read_text())
        yield {"env": env, "sock": sim_state["usbmuxd_address"], "phones": sim_state["phones"]}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_lab_init_writes_a_file_the_doctor_accepts(sim, tmp_path):
    """The issue's acceptance: lab init with both roles, then `harness doctor --lab lab.yaml` passes."""
    result = harness("lab", "init", "--usbmuxd", sim["sock"], "--dut", "Virtual iPhone A",
                     "--caller", "Virtual iPhone B", "--out", "lab.yaml", env=sim["env"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote lab.yaml: dut Virtual iPhone A, caller Virtual iPhone B")
    text = (tmp_path / "lab.yaml").read_text()
    lab = Lab.load(tmp_path / "lab.yaml")
    udid = {p["name"]: p["udid"] for p in sim["phones"]}
    assert [(d.name, d.udid, d.role) for d in lab.devices] == [
        ("Virtual iPhone A", udid["Virtual iPhone A"], "dut"),
        ("Virtual iPhone B", udid["Virtual iPhone B"], "caller")]
    dut = lab.devices[0]
    assert (dut.model, dut.ios, dut.phone_number) == ("iPhone15,2", "17.5.1", "+15550100001")
    assert dut.wda_runner == "com.facebook.WebDriverAgentRunner.xctrunner" and dut.wda.launch == "xcuitest"
    assert lab.usbmuxd == sim["sock"] and dut.apple_id is None
    for placeholder in ("# apple_id:", "# app:", "# audio:", "#   advertise:", "# accessories:",
                        "#     plugin: harness.lab.settings_bluetooth:SettingsBluetoothAccessory"):
        assert placeholder in text, placeholder
    doctor = harness("doctor", "--lab", "lab.yaml", env=sim["env"], cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert doctor.stdout.count("=> READY") == 2
    assert "warn     Apple ID in the lab file" in doctor.stdout  # the placeholder left to fill in

    again = harness("lab", "init", "--usbmuxd", sim["sock"], "--dut", "Virtual iPhone A", "--out", "lab.yaml",
                    env=sim["env"], cwd=tmp_path)
    assert again.returncode == 2 and "lab.yaml exists; pass --force" in again.stderr
    assert (tmp_path / "lab.yaml").read_text() == text


def test_options_fill_in_numbers_and_apple_ids_and_phones_left_out_are_listed(sim, tmp_path):
    udid = sim["phones"][0]["udid"].replace("-", "")  # a UDID as usbmuxd may list it, without the dash
    result = harness("lab", "init", "--usbmuxd", sim["sock"], "--dut", udid,
                     "--apple-id", "dut=qa@example.com", "--number", "Virtual iPhone A=+1 (555) 010-0099",
                     "--wda-launch", "external",
                     "--out", "sub/lab.yaml", env=sim["env"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "left out: Virtual iPhone B" in result.stdout
    lab = Lab.load(tmp_path / "sub" / "lab.yaml")
    (dut,) = lab.devices
    assert (dut.apple_id, dut.phone_number, dut.wda.launch) == ("qa@example.com", "+15550100099", "external")
    assert "# also attached, not in this lab: Virtual iPhone B" in (tmp_path / "sub" / "lab.yaml").read_text()


@pytest.mark.parametrize(("args", "message"), [
    ((), "name the phone under test: --dut NAME|UDID"),
    (("--dut", "Nope"), "--dut 'Nope': no attached iPhone has that name or UDID; attached: Virtual iPhone A"),
    (("--dut", "Virtual iPhone A", "--caller", "Virtual iPhone A"), "is also the --dut"),
    (("--dut", "Virtual iPhone A", "--number", "dut=+1555"), "'+1555' is not an E.164 number"),
    (("--dut", "Virtual iPhone A", "--number", "caller=+15550100099"),
     "'caller' is none of the lab's phones"),
    (("--dut", "Virtual iPhone A", "--apple-id", "qa@example.com"), "use --apple-id PHONE=VALUE"),
])
def test_bad_input_is_a_usage_error_and_writes_nothing(sim, tmp_path, args, message):
    result = harness("lab", "init", "--usbmuxd", sim["sock"], *args, "--out", "lab.yaml", env=sim["env"],
                     cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and not (tmp_path / "lab.yaml").exists()


def test_on_a_terminal_it_asks_each_phones_role(sim, tmp_path):
    leader, follower = pty.openpty()
    try:
        os.write(leader, b"\ncaller\n")  # A: the default (dut), then B: caller
        result = harness("lab", "init", "--usbmuxd", sim["sock"], "--out", "lab.yaml", env=sim["env"],
                         cwd=tmp_path, stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 0, result.stderr
    assert "Virtual iPhone A (" in result.stderr and "role [dut/caller/skip] (dut)" in result.stderr
    assert "role [dut/caller/skip] (caller)" in result.stderr
    lab = Lab.load(tmp_path / "lab.yaml")
    roles = [(d.name, d.role) for d in lab.devices]
    assert roles == [("Virtual iPhone A", "dut"), ("Virtual iPhone B", "caller")]


def test_no_phones_is_a_lab_fault(tmp_path):
    """A usbmuxd with nothing attached: exit 3, naming the address."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    result = harness("lab", "init", "--usbmuxd", str(tmp_path / "none.sock"), "--dut", "A", env=env,
                     cwd=tmp_path, timeout=30)
    assert result.returncode == 3 and "usbmuxd-down" in result.stderr and str(tmp_path) in result.stderr


def test_a_sim_number_is_written_in_e164_only_when_it_has_a_country_code():
    # lockdown's PhoneNumber as libimobiledevice's ideviceinfo prints it on US phones [likely format]
    assert e164("+1 (408) 555-0100") == "+14085550100"
    assert e164("(408) 555-0100") is None and e164("") is None
    assert Found("X").sim_number == ""


def test_the_written_file_round_trips(sim, tmp_path):
    result = harness("lab", "init", "--usbmuxd", sim["sock"], "--dut", "Virtual iPhone B", "--caller",
                     "Virtual iPhone A", "--out", "lab.yaml", env=sim["env"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((tmp_path / "lab.yaml").read_text())
    assert [d["role"] for d in data["devices"]] == ["dut", "caller"]  # the DUT first
    assert data["devices"][0]["ios"] == "17.5.1"  # quoted: a string, never a float


async def test_an_unpaired_phone_is_written_with_the_pair_command(isolated):
    """A phone this host never paired gives only its public values: the file says how to pair it."""
    from harness.lab.discover import assign, discover, render
    from harness.sim.lab import PhoneSpec
    from tests.device.conftest import start_lab

    lab = await start_lab(isolated, PhoneSpec(name="New iPhone", paired=False),
                          PhoneSpec(name="Caller", role="caller", model="iPhone14,5"))
    try:
        phones = await discover(10.0)
        new = next(p for p in phones if p.name == "New iPhone")
        assert not new.paired and new.runners == () and new.sim_number == ""
        assert f"pymobiledevice3 lockdown pair --udid {new.udid}" in new.problem
        choices = assign(phones, dut="New iPhone", callers=["Caller"])
        text = render(choices, usbmuxd=lab.usbmuxd_address)
        assert f"# not paired with this host: `pymobiledevice3 lockdown pair --udid {new.udid}`" in text
        caller = next(c for c in choices if c.role == "caller").found
        assert caller.paired and caller.runners == ("com.facebook.WebDriverAgentRunner.xctrunner",)
        assert Lab.from_dict(yaml.safe_load(text)).device("New iPhone").wda.launch == "external"
    finally:
        await lab.stop()
