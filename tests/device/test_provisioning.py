"""Provisioning profiles: read from misagent with pymobiledevice3, judged by App ID, UDID and date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness.device.lockdown import connect
from harness.device.provisioning import Profile, installed_profiles, profile_for
from harness.sim.services.misagent import development_profile

RUNNER = "com.facebook.WebDriverAgentRunner.xctrunner"

# The values Apple's TN3125 ("Inside Code Signing: Provisioning Profiles") shows for its sample
# development profile: App ID, one provisioned device, and the expiration date.
TN3125 = {
    "Name": "Profile Explainer iOS Dev",
    "UUID": "sample",
    "Entitlements": {"application-identifier": "SKMME9E2Y8.com.example.apple-samplecode.ProfileExplainer",
                     "com.apple.developer.team-identifier": "SKMME9E2Y8", "get-task-allow": True},
    "ProvisionedDevices": ["00008030-001544522E60802E"],
    "ExpirationDate": datetime(2022, 7, 23, 14, 30, 34),  # plistlib: naive, UTC
}


def test_the_tn3125_sample_profile_is_read_as_apple_describes_it():
    p = Profile.from_plist(TN3125)
    assert p.expires == datetime(2022, 7, 23, 14, 30, 34, tzinfo=UTC)
    assert p.covers_app("com.example.apple-samplecode.ProfileExplainer")
    assert not p.covers_app("com.example.apple-samplecode.Other")
    assert p.covers_device("00008030001544522E60802E") and not p.covers_device("00008120-001A2B3C4D5E6F70")
    assert p.days_left(datetime(2022, 7, 22, 14, 30, 34, tzinfo=UTC)) == 1.0
    # TN3125's wildcard App ID: any app whose App ID starts with the prefix
    wild = Profile.from_plist({**TN3125, "Entitlements": {
        "application-identifier": "SKMME9E2Y8.com.example.apple-samplecode.*"}})
    assert wild.covers_app("com.example.apple-samplecode.Other") and not wild.covers_app("com.example.x")
    every = Profile.from_plist({**TN3125, "ProvisionsAllDevices": True})
    assert every.devices is None and every.covers_device("00008120-001A2B3C4D5E6F70")


async def test_profiles_come_from_the_phones_misagent_through_pymobiledevice3(lab, dut):
    lockdown = await connect(dut.udid)
    try:
        profiles = await installed_profiles(lockdown, dut.udid)
        runner = profile_for(profiles, RUNNER, dut.udid)
        assert runner is not None and runner.days_left() > 300  # the runner came with a year's profile
        assert profile_for(profiles, RUNNER, "00008030-001544522E60802E") is None
        # a free personal team's profile, made 8 days ago, lasted 7
        made = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
        dut.provisioning_profiles = [development_profile(RUNNER, dut.udid, created=made, days=7)]
        (expired,) = await installed_profiles(lockdown, dut.udid)
        assert -1.1 < expired.days_left() < -0.9 and expired.covers_app(RUNNER)
        dut.provisioning_profiles = []
        assert await installed_profiles(lockdown, dut.udid) == []
    finally:
        await lockdown.close()


async def test_the_doctor_fails_an_expired_runner_profile_on_the_virtual_lab(lab, dut):
    from harness.cli.doctor import examine
    from harness.lab.schema import Lab

    made = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
    dut.provisioning_profiles = [development_profile(RUNNER, dut.udid, created=made, days=7)]
    spec = Lab.from_dict({"usbmuxd": lab.usbmuxd_address, "devices": [
        {"name": "DUT", "udid": dut.udid, "role": "dut", "wda_runner": RUNNER}]})
    (report,) = await examine(spec, None, 10.0, 30)
    checks = {c["key"]: c for c in report["checks"]}
    assert checks["wda_runner"]["status"] == "ok"
    assert checks["wda_profile"]["status"] == "fail" and "expired on" in checks["wda_profile"]["detail"]
    assert f"provision list --udid {dut.udid}" in checks["wda_profile"]["fix"]
