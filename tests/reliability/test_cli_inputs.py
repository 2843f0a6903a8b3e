"""Every input mistake of reliability-probe.md finding 9 and §1/§2 is exit 2 with a message naming it:
probe lengths and seeds, lab files (encodings, bombs, nesting, special files, schema holes), the
device tools' options and environment, and `harness sim down` with a sim.json it did not write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from harness.audio.probe import DOWNLINK_SEED, probe
from harness.cli import main
from harness.errors import UsageError
from harness.lab.schema import Lab


def _cli(*args: str, timeout: float = 60,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


# -- probe --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--seconds", "inf"], ["--seconds", "1e308"], ["--seconds", "nan"], ["--seconds", "1e9"],
    ["--seconds", "7201e9"], ["--seconds", "1e-9"], ["--seconds", "1", "--start", "nan"],
    ["--seconds", "1", "--start", "inf"], ["--seconds", "1", "--start", "1e18"],
    ["--seconds", "1", "--seed", "-1"], ["--seconds", "1", "--seed", str(2**64)],
])
def test_probe_bad_lengths_and_seeds_are_exit_2(tmp_path: Path, capsys, args: list[str]) -> None:
    assert main(["probe", *args, "--out", str(tmp_path / "x.wav")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "x.wav").exists()


def test_probe_is_streamed_and_equals_the_library(tmp_path: Path) -> None:
    """Written in 60 s blocks; sample for sample the probe (16-bit), across block edges."""
    out = tmp_path / "p.wav"
    assert main(["probe", "--seconds", "61.5", "--start", "2.25", "--channels", "2", "--out", str(out)]) == 0
    x, _ = sf.read(out, dtype="float32")
    want = probe(61.5, DOWNLINK_SEED, channels=2, start_s=2.25)
    assert x.shape == want.shape and float(np.max(np.abs(x - want))) <= 1 / 32768 + 1e-7
    assert not list(tmp_path.glob(".*.tmp"))


def test_probe_out_that_is_a_directory_or_unwritable(tmp_path: Path, capsys) -> None:
    (tmp_path / "dir.wav").mkdir()
    assert main(["probe", "--seconds", "1", "--out", str(tmp_path / "dir.wav")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["probe", "--seconds", "1", "--out", "/proc/nonexistent/x.wav"]) == 2
    assert "No such file or directory" in capsys.readouterr().err  # the errno, not "System error."


# -- lab files ----------------------------------------------------------------------------------------

DUT = "  - {name: QA iPhone 15, udid: 00008120-001A2B3C4D5E6F70, role: dut%s}\n"


def _lab(devices: str, usbmuxd: str = "/nonexistent/usbmuxd.sock") -> str:
    return f"version: 1\nusbmuxd: {usbmuxd}\ndevices:\n{devices}"


VALID = _lab(DUT % "")
BOMB = ("x:\n  a0: &a0 [" + ", ".join(["lol"] * 10) + "]\n"
        + "".join(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 9)))

LAB_CASES = {
    "dup-udid-case": (VALID + "  - {name: Other, udid: 00008120-001a2b3c4d5e6f70, role: caller}\n",
                      "two devices have udid"),
    "wda-port-bool": (_lab(DUT % ", wda_port: true"),
                      "devices[0].wda_port: must be a whole number, got True"),
    "usbmuxd-empty": (_lab(DUT % "", "''"), "usbmuxd: empty"),
    "usbmuxd-badport": (_lab(DUT % "", "'localhost:99999'"), "port '99999' is not 1-65535"),
    "usbmuxd-garbage": (_lab(DUT % "", "'::::garbage'"), "neither a socket path nor HOST:PORT"),
    "dup-yaml-keys": (_lab("  - name: QA iPhone 15\n    udid: 00008120-001A2B3C4D5E6F70\n    role: dut\n"
                           "    udid: 00008130-001A2B3C4D5E6F71\n"),
                      "key 'udid' given twice (first at line 5)"),
    "name-is-other-udid": (VALID + "  - {name: 00008120-001A2B3C4D5E6F70, udid: 00008130-001A2B3C4D5E6F71, "
                           "role: caller}\n", "named with the UDID of device 'QA iPhone 15'"),
    "dup-phone": (_lab(DUT % ', phone_number: "+15550100001"')
                  + '  - {name: C, udid: 00008130-001A2B3C4D5E6F71, role: caller,'
                    ' phone_number: "+15550100001"}\n',
                  "two devices have phone_number"),
    "deep-nesting": ("version: 1\ndevices: " + "[" * 50000 + "]" * 50000 + "\n",
                     "nested more than 64 levels"),
    "bomb-in-version": (BOMB + "version: *a8\ndevices:\n  - {name: a, udid: 00008120-001A2B3C4D5E6F70}\n",
                        "expands to more than 100000 values"),
    "bomb-in-role": (BOMB + "devices:\n  - {name: a, udid: 00008120-001A2B3C4D5E6F70, role: *a8}\n",
                     "expands to more than 100000 values"),
    "alias-chain": ("x:\n  a0: &a0 [1]\n" + "".join(f"  a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 3000))
                    + "devices: *a2999\n", "lab file"),
    "huge": (VALID + "".join(f"  - {{name: d{i}, udid: {i:040x}, role: caller}}\n" for i in range(1, 30000)),
             "larger than 1024 KiB"),
}


@pytest.mark.parametrize("case", sorted(LAB_CASES))
def test_lab_file_mistakes_are_named(tmp_path: Path, case: str) -> None:
    text, message = LAB_CASES[case]
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    t0 = time.monotonic()
    with pytest.raises(UsageError) as err:
        Lab.load(path)
    assert message in str(err.value)
    assert len(str(err.value)) < 2000 and time.monotonic() - t0 < 10


@pytest.mark.parametrize(("name", "data", "message"), [
    ("binary", bytes(range(128, 256)) * 16, "not UTF-8 text: byte 0x80 at line 1, column 1"),
    ("utf16", VALID.encode("utf-16"), "saved as UTF-16"),
    ("latin1", VALID.replace("QA iPhone 15", "QA iPhone \u00e9").encode("latin-1"), "byte 0xe9 at line 4"),
])
def test_lab_file_encodings(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    with pytest.raises(UsageError, match=message):
        Lab.load(path)
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + VALID.encode())  # a UTF-8 BOM is fine
    assert Lab.load(tmp_path / "bom.yaml").devices[0].name == "QA iPhone 15"


def test_lab_file_that_is_a_fifo_or_device_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "lab.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        r = _cli("devices", "--lab", str(path), timeout=30)
        assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr


def test_valid_control_still_reaches_usbmuxd(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(VALID)
    r = _cli("devices", "--lab", str(path), "--timeout", "2")
    assert r.returncode == 3 and "usbmuxd" in r.stderr  # the schema passed; the lab fault is the socket


# -- devices / doctor ---------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e-9", "-1"])
def test_device_timeouts_must_be_finite(tmp_path: Path, timeout: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(VALID)
    r = _cli("devices", "--lab", str(path), "--timeout", timeout)
    assert r.returncode == 2 and "--timeout must be" in r.stderr


def test_doctor_unknown_device_is_usage_before_usbmuxd(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(VALID)
    r = _cli("doctor", "--lab", str(path), "--device", "No Such Phone", "--timeout", "2")
    assert r.returncode == 2 and "no device 'No Such Phone'" in r.stderr and "usbmuxd" not in r.stderr


def test_garbage_usbmuxd_address_names_the_variable() -> None:
    r = _cli("devices", "--timeout", "2", env={"USBMUXD_SOCKET_ADDRESS": "::::garbage"})
    assert r.returncode == 2 and r.stderr.startswith("harness devices: USBMUXD_SOCKET_ADDRESS:")


# -- sim down -----------------------------------------------------------------------------------------


def test_sim_down_never_signals_a_foreign_process(tmp_path: Path) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "sim.json").write_text(json.dumps({"pid": victim.pid}))
        r = _cli("sim", "down", "--state-dir", str(tmp_path), "--timeout", "2")
        assert r.returncode == 0 and "left it alone" in r.stdout
        time.sleep(0.3)
        assert victim.poll() is None  # still running: it got no SIGTERM
        assert not (tmp_path / "sim.json").exists()
        # a recorded identity that does not match (a recycled pid) is not signalled either
        (tmp_path / "sim.json").write_text(json.dumps({"pid": victim.pid, "process": {
            "cmdline": ["python", "-m", "harness", "sim", "up"], "start_ticks": 1}}))
        r = _cli("sim", "down", "--state-dir", str(tmp_path), "--timeout", "2")
        assert r.returncode == 0 and "another process" in r.stdout and victim.poll() is None
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()


@pytest.mark.parametrize("text", ["not json{", "{}", '{"pid": "abc"}', "[]", '{"pid": -1}', '{"pid": 0}',
                                  '{"pid": 1}', '{"pid": true}'])
def test_sim_down_malformed_state_is_exit_2(tmp_path: Path, text: str) -> None:
    (tmp_path / "sim.json").write_text(text)
    r = _cli("sim", "down", "--state-dir", str(tmp_path))
    assert r.returncode == 2 and "sim.json" in r.stderr and "Traceback" not in r.stderr


def test_sim_down_state_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    r = _cli("sim", "down", "--state-dir", str(tmp_path / "f"))
    assert r.returncode == 2 and "not a folder" in r.stderr


def test_sim_down_stops_the_lab_it_recorded(tmp_path: Path) -> None:
    """The real `sim up` (usbmuxd/lockdownd only: light) records its identity; down stops it."""
    lab = subprocess.Popen([sys.executable, "-m", "harness", "sim", "up", "--state-dir", str(tmp_path),
                            "--extensions", "none", "--phones", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "sim.json").exists():
            assert time.monotonic() < deadline and lab.poll() is None
            time.sleep(0.1)
        state = json.loads((tmp_path / "sim.json").read_text())
        assert state["pid"] == lab.pid and state["process"]["start_ticks"] > 0
        r = _cli("sim", "down", "--state-dir", str(tmp_path))
        assert r.returncode == 0 and "stopped" in r.stdout
        assert lab.wait(20) == 0
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()
