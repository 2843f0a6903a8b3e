"""The doctor's checklist as pure rules over what was read from a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness.device.apps import AppInfo
from harness.device.doctor import FAIL, MANUAL, NOT_APPLICABLE, OK, UNKNOWN, WARN, Facts, evaluate, verdict
from harness.device.errors import PASSCODE_LOCKED, DeviceFault
from harness.device.info import DeviceInfo
from harness.device.provisioning import Profile
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
    assert manual == {"siri", "auto_lock", "focus", "silence_unknown_callers", "live_voicemail",
                      "incoming_calls", "caller_contact", "music_content", "microphone", "local_network"}
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


# -- the WDA runner and its provisioning profile ------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RUNNER = "com.example.WebDriverAgentRunner.xctrunner"
RUNNER_APP = AppInfo(RUNNER, "WebDriverAgentRunner-Runner", "1.0", "1", "User")


def profile(days: float, *, app_id: str = f"TEAM123456.{RUNNER}", devices: tuple[str, ...] | None = (UDID,),
            name: str = "iOS Team Provisioning Profile") -> Profile:
    return Profile(name=name, uuid="U", app_id=app_id, expires=NOW + timedelta(days=days), devices=devices)


def lab_phone(**kw) -> Facts:
    """A ready DUT of a lab file that names its runner (the harness starts WDA)."""
    base = dict(role="dut", phone_number="+15550100001", apple_id="dut@example.com", wda_runner=RUNNER,
                wda_launch="xcuitest", runner=RUNNER_APP, runner_checked=True, profiles=[profile(200)],
                caller_numbers=("+15550100002",))
    base.update(kw)
    return ready(**base)


def test_the_runner_and_its_profile_are_checked():
    checks = by_key(evaluate(lab_phone(), now=NOW))
    assert checks["wda_runner"].status == OK and checks["wda_runner"].detail == f"{RUNNER} 1.0 (1)"
    assert checks["wda_profile"].status == OK and "(200 days)" in checks["wda_profile"].detail
    assert "+15550100002" in checks["caller_contact"].fix
    assert checks["facetime"].status == MANUAL and "dut@example.com" in checks["facetime"].title


def test_an_expired_runner_profile_fails_and_a_nearly_expired_one_warns():
    checks = by_key(evaluate(lab_phone(profiles=[profile(-0.5)]), now=NOW))
    assert checks["wda_profile"].status == FAIL
    assert "expired on 2026-03-01 00:00 UTC" in checks["wda_profile"].detail
    assert "re-sign the runner" in checks["wda_profile"].fix
    assert f"provision list --udid {UDID}" in checks["wda_profile"].fix
    checks = by_key(evaluate(lab_phone(profiles=[profile(0.25), profile(-3)]), now=NOW))
    assert checks["wda_profile"].status == WARN and "expires in 6 h" in checks["wda_profile"].detail
    # of two covering profiles iOS may use either: the one that lasts longer counts
    checks = by_key(evaluate(lab_phone(profiles=[profile(-3), profile(30, app_id="TEAM123456.*")]), now=NOW))
    assert checks["wda_profile"].status == OK


def test_a_profile_that_does_not_list_the_phone_fails():
    other_phone = ("00008030-001544522E60802E",)
    checks = by_key(evaluate(lab_phone(profiles=[profile(30, devices=other_phone)]), now=NOW))
    assert checks["wda_profile"].status == FAIL and "not this phone's UDID" in checks["wda_profile"].detail
    # an enterprise profile provisions every device
    checks = by_key(evaluate(lab_phone(profiles=[profile(30, devices=None)]), now=NOW))
    assert checks["wda_profile"].status == OK


def test_a_missing_runner_fails_with_the_install_command_and_no_profile_check():
    checks = by_key(evaluate(lab_phone(runner=None, wda=Status(False, "nothing answers")), now=NOW))
    assert checks["wda_runner"].status == FAIL
    assert f"apps install WebDriverAgentRunner-Runner.app --udid {UDID}" in checks["wda_runner"].fix
    assert "wda_profile" not in checks
    # the harness starts WDA itself (wda.launch: xcuitest): down is a warning with how to start it by hand
    assert checks["wda"].status == WARN and f"xcuitest {RUNNER} --udid {UDID}" in checks["wda"].fix


def test_wda_down_names_the_long_lived_launcher_never_the_one_shot_one():
    checks = by_key(evaluate(lab_phone(wda_launch="external", wda=Status(False, "refused")), now=NOW))
    fix = checks["wda"].fix
    assert checks["wda"].status == FAIL
    assert f"`pymobiledevice3 developer dvt xcuitest {RUNNER} --udid {UDID}`" in fix
    assert "not `developer wda ... status`" in fix and "--xctrunner" not in fix
    checks = by_key(evaluate(lab_phone(wda_launch="external", wda=Status(False, "refused"),
                                       info=info(ios="17.2")), now=NOW))
    assert "`sudo pymobiledevice3 remote tunneld`" in checks["wda"].fix
    assert f"xcuitest {RUNNER} --tunnel {UDID}`" in checks["wda"].fix


def test_without_a_runner_in_the_lab_file_the_installed_one_is_found():
    facts = lab_phone(wda_runner=None, wda_launch="external", runners=(RUNNER,), runner=RUNNER_APP,
                      wda=Status(False, "refused"))
    checks = by_key(evaluate(facts, now=NOW))
    assert checks["wda_runner"].status == WARN and f"set wda_runner: {RUNNER}" in checks["wda_runner"].fix
    assert f"xcuitest {RUNNER} --udid" in checks["wda"].fix and checks["wda_profile"].status == OK
    checks = by_key(evaluate(lab_phone(wda_runner=None, runners=(), runner=None, wda=Status(False, "x")),
                             now=NOW))
    assert checks["wda_runner"].status == FAIL and "RUNNER_BUNDLE_ID" in checks["wda"].fix
    two = (RUNNER, "b.xctrunner")
    checks = by_key(evaluate(lab_phone(wda_runner=None, runners=two, runner=None), now=NOW))
    assert checks["wda_runner"].status == WARN and "several runners" in checks["wda_runner"].detail


def test_developer_mode_fix_uses_amfi_for_the_hidden_switch():
    checks = by_key(evaluate(ready(info=info(developer_mode=False))))
    fix = checks["developer_mode"].fix
    assert f"`pymobiledevice3 amfi enable-developer-mode --udid {UDID}`" in fix
    assert f"`pymobiledevice3 amfi reveal-developer-mode --udid {UDID}`" in fix


def test_a_dut_without_apple_id_or_number_warns_and_a_caller_gets_no_dut_checks():
    checks = by_key(evaluate(lab_phone(apple_id=None, phone_number=None), now=NOW))
    assert checks["apple_id"].status == WARN and "FaceTime" in checks["apple_id"].detail
    assert checks["phone_number"].status == WARN and verdict(list(checks.values()))
    caller = by_key(evaluate(lab_phone(role="caller", apple_id=None), now=NOW))
    assert not {"apple_id", "facetime", "live_voicemail", "incoming_calls", "caller_contact",
                "music_content", "silence_unknown_callers"} & set(caller)


def test_ios_26_asks_for_screening_off_instead_of_silence():
    checks = by_key(evaluate(lab_phone(info=info(ios="26.1")), now=NOW))
    assert checks["screen_unknown_callers"].status == MANUAL
    assert "Screen Unknown Callers: Never" in checks["screen_unknown_callers"].fix
    assert "silence_unknown_callers" not in checks
    assert "screen_unknown_callers" not in by_key(evaluate(lab_phone(), now=NOW))


def test_an_expired_development_build_of_the_app_fails_and_a_store_build_has_no_profile_check():
    app_profile = profile(-1, app_id="TEAM123456.com.example.voice", name="Voice Dev")
    checks = by_key(evaluate(lab_phone(profiles=[profile(100), app_profile]), now=NOW))
    assert checks["app_profile"].status == FAIL and "'Voice Dev' expired" in checks["app_profile"].detail
    assert "app_profile" not in by_key(evaluate(lab_phone(), now=NOW))
