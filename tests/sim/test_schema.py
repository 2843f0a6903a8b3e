"""The lab schema: a good file loads and round-trips; each mistake gets one exact message."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.lab.schema import Lab

GOOD = """
usbmuxd: /tmp/lab/usbmuxd.sock
devices:
  - name: iPhone A
    udid: 00008120-001A2B3C4D5E6F70
    role: dut
    ios: "17.5.1"
    phone_number: "+15550100001"
    apple_id: dut@example.com
  - name: iPhone B
    udid: 00008130-001A2B3C4D5E6F71
    role: caller
app:
  bundle_id: com.example.voice
  ipa: build/Voice.ipa
  launch_env: {LOG_LEVEL: debug}
audio:
  capture:
    speaker: {device: Scarlett 4i4, channel: 1}
  mouth: {device: Scarlett 4i4, channel: 2}
peer:
  bind: 0.0.0.0:8443
"""


def _load(tmp_path, text: str) -> Lab:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return Lab.load(path)


def test_good_file_loads_and_round_trips(tmp_path):
    lab = _load(tmp_path, GOOD)
    assert lab.device("iPhone B").role == "caller"
    assert lab.role("dut")[0].phone_number == "+15550100001"
    assert lab.audio.capture["speaker"].channel == 1
    lab.dump(tmp_path / "again.yaml")
    assert Lab.load(tmp_path / "again.yaml") == lab


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("role: dut", "role: dutt"), "devices[0].role: must be 'dut' or 'caller', got 'dutt'"),
        (("udid: 00008120-001A2B3C4D5E6F70", "udid: nope"), "devices[0].udid: 'nope' is not a UDID"),
        (
            ('ios: "17.5.1"', 'ios: "15.0"'),
            "devices[0].ios: iOS 15.0 is not supported; supported majors: 16, 17",
        ),
        (
            ('phone_number: "+15550100001"', "phone_number: 5550100"),
            "devices[0].phone_number: '5550100' is not an E.164",
        ),
        (("apple_id: dut@example.com", "apple_id: dut"), "devices[0].apple_id: 'dut' is not an Apple ID"),
        (("peer:", "pear:"), "pear: unknown key (check its spelling)"),
        (("bind: 0.0.0.0:8443", "bind: 8443"), "peer.bind: '8443' is not HOST:PORT"),
        (("speaker:", "loudspeaker:"), "audio.capture: unknown route 'loudspeaker' in the capture map"),
        (("name: iPhone B", "name: iPhone A"), "two devices have name 'iPhone A'"),
        (
            ("role: caller", "role: dut\n    wda_port: 70000"),
            "devices[1].wda_port: Input should be less than",
        ),
        (("  bundle_id: com.example.voice\n", ""), "app.bundle_id: missing (required)"),
    ],
)
def test_each_mistake_has_its_message(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(UsageError) as err:
        _load(tmp_path, GOOD.replace(old, new, 1))
    assert message in str(err.value)
    assert str(err.value).startswith(f"lab file {tmp_path / 'lab.yaml'}: ")


def test_file_level_mistakes(tmp_path):
    with pytest.raises(UsageError, match="not found; pass --lab PATH"):
        Lab.load(tmp_path / "missing.yaml")
    with pytest.raises(UsageError, match="not valid YAML at line 3, column 1"):
        _load(tmp_path, "devices:\n  - name: [\n")
    with pytest.raises(UsageError, match="expected a mapping with 'devices:' at the top, got list"):
        _load(tmp_path, "- a\n")
    with pytest.raises(UsageError, match="devices: missing"):
        _load(tmp_path, "usbmuxd: /x\n")
    with pytest.raises(UsageError, match="no device has role: dut"):
        _load(tmp_path, GOOD.replace("role: dut", "role: caller"))
    with pytest.raises(UsageError, match="no device 'iPhone Z' in the lab; known: iPhone A, iPhone B"):
        _load(tmp_path, GOOD).device("iPhone Z")


def test_how_wda_is_reached_per_phone():
    udid = "00008120-001A2B3C4D5E6F70"
    runner = "com.example.WebDriverAgentRunner.xctrunner"
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid, "wda_runner": runner}]})
    assert lab.devices[0].wda.launch == "xcuitest"  # a named runner is launched by the harness
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid, "wda_runner": runner,
                                      "wda": {"launch": "external"}}]})
    assert lab.devices[0].wda.launch == "external" and lab.devices[0].wda_runner == runner
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid}]})
    assert lab.devices[0].wda.launch == "external" and lab.devices[0].wda_runner is None
    assert Lab.from_dict(lab.to_dict()) == lab
    with pytest.raises(UsageError) as info:
        Lab.from_dict({"devices": [{"name": "A", "udid": udid, "wda": {"launch": "xcuitest"}}]})
    assert "wda_runner" in str(info.value) and "external" in str(info.value)
    with pytest.raises(UsageError, match="xcuitest"):
        Lab.from_dict({"devices": [{"name": "A", "udid": udid, "wda": {"launch": "xcode"}}]})


def test_other_audio_is_a_capability_of_a_phone_with_music_content():
    from harness.lab.capabilities import KNOWN, missing

    udid = "00008120-001A2B3C4D5E6F70"
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid}]})
    assert "other_audio" in KNOWN and missing(lab, lab.devices[0], ["other_audio"]) == ["other_audio"]
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid, "music_content": True}]})
    assert missing(lab, lab.devices[0], ["other_audio"]) == []


def test_device_log_section():
    udid = "00008120-001A2B3C4D5E6F70"
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid}]})
    assert lab.device_log.level == "info" and lab.device_log.processes == []
    lab = Lab.from_dict({"devices": [{"name": "A", "udid": udid}],
                         "device_log": {"processes": ["bluetoothd", "callservicesd*"], "level": "debug"}})
    assert lab.device_log.processes == ["bluetoothd", "callservicesd*"]
    one = [{"name": "A", "udid": udid}]
    with pytest.raises(UsageError, match="process name"):
        Lab.from_dict({"devices": one, "device_log": {"processes": ["/usr/sbin/x"]}})
    with pytest.raises(UsageError, match=r"device_log\.level"):
        Lab.from_dict({"devices": one, "device_log": {"level": "verbose"}})
