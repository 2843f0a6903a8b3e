"""The doctor's checklist as pure rules over what was read from a phone."""

from __future__ import annotations

from harness.device.apps import AppInfo
from harness.device.doctor import FAIL, MANUAL, NOT_APPLICABLE, OK, UNKNOWN, WARN, Facts, evaluate, verdict
from harness.device.errors import PASSCODE_LOCKED, DeviceFault
from harness.device.info import DeviceInfo
from harness.device.wda_launcher import Status

UDID = "00008120-001A2B3C4D5E6F70"


def info(**kw) -> DeviceInfo:
    base = dict(udid=UDID, name="A", product_type="iPhone15,2", model="iPhone 14 Pro", ios="17.5.1",
                build="21F90", paired=True, battery_level=80, charging=False, developer_mode=True,
                passcode_set=False)
    base.update(kw)
    return DeviceInfo(**base)


def ready(**kw) -> Facts:
    facts = Facts(udid=UDID, attached=True, paired=True, info=info(), wda=Status(True, "ready"),
                  ddi=Status(None, "mounter refused"), bundle_id="com.example.voice", app_checked=True,
                  app=AppInfo("com.example.voice", "Voice", "2.0", "7", "User"))
    for key, value in kw.items():
        setattr(facts, key, value)
    return facts


def by_key(checks):
    return {c.key: c for c in checks}


def test_a_ready_phone_passes_and_lists_what_to_confirm_by_hand():
    checks = by_key(evaluate(ready()))
    assert verdict(list(checks.values()))
    for key in ("attached", "paired", "passcode", "developer_mode", "ddi", "tunnel", "wda", "battery",
                "ui_automation", "app"):
        assert checks[key].status == OK, checks[key]
    manual = {k for k, c in checks.items() if c.status == MANUAL}
    assert manual == {"siri", "auto_lock", "focus", "silence_unknown_callers", "microphone", "local_network"}
    assert all(c.fix for c in checks.values() if c.status == MANUAL)
    assert "Voice" in checks["microphone"].title and "Local Network > Voice" in checks["local_network"].fix
    assert checks["app"].detail == "version 2.0 (7)"


def test_detached_phone_stops_at_the_first_check():
    checks = evaluate(Facts(udid=UDID, attached=False))
    assert [(c.key, c.status) for c in checks] == [("attached", FAIL)]


def test_unpaired_phone_fails_with_the_pair_command():
    checks = evaluate(Facts(udid=UDID, attached=True, paired=False))
    assert checks[-1].key == "paired" and checks[-1].status == FAIL
    assert f"lockdown pair --udid {UDID}" in checks[-1].fix


def test_each_miss_has_its_fix():
    facts = ready(info=info(developer_mode=False, passcode_set=True, battery_level=10),
                  wda=Status(False, "refused"), ddi=Status(False, "Personalized image not mounted"),
                  tunnel=Status(False, "no tunneld"), app=None)
    checks = by_key(evaluate(facts))
    failing = {k for k, c in checks.items() if c.status == FAIL}
    assert failing == {"passcode", "developer_mode", "ddi", "tunnel", "wda", "battery", "app"}
    assert all(checks[k].fix for k in failing)
    assert "auto-mount" in checks["ddi"].fix and "tunneld" in checks["tunnel"].fix
    assert checks["ui_automation"].status == MANUAL  # WDA down: nothing proves UI automation is on
    assert not verdict(list(checks.values()))


def test_a_low_battery_on_a_charger_is_only_a_warning():
    checks = by_key(evaluate(ready(info=info(battery_level=10, charging=True))))
    assert checks["battery"].status == WARN and verdict(list(checks.values()))


def test_an_unmounted_ddi_only_warns_while_wda_runs():
    checks = by_key(evaluate(ready(ddi=Status(False, "Developer image not mounted"))))
    assert checks["ddi"].status == WARN


def test_ios_16_has_no_tunnel_check_and_developer_mode_applies():
    checks = by_key(evaluate(ready(info=info(ios="16.7.10"))))
    assert "tunnel" not in checks and checks["developer_mode"].status == OK
    checks = by_key(evaluate(ready(info=info(ios="15.8", developer_mode=None))))
    assert checks["developer_mode"].status == NOT_APPLICABLE


def test_a_locked_phone_fails_no_passcode_and_leaves_the_app_unknown():
    fault = DeviceFault("phone X: list apps: the phone is locked; fix: unlock it", PASSCODE_LOCKED, UDID)
    checks = by_key(evaluate(ready(locked=True, app_checked=False, app=None, problems={"app": fault})))
    assert checks["passcode"].status == FAIL
    assert checks["app"].status == UNKNOWN and checks["app"].fix == "unlock it"


def test_no_app_in_the_lab_file():
    checks = by_key(evaluate(ready(bundle_id=None)))
    assert checks["app"].status == NOT_APPLICABLE and "microphone" not in checks
