"""pymobiledevice3's exceptions -> harness faults: every row of the table, and the deadline wrapper."""

from __future__ import annotations

import asyncio

import pytest
from pymobiledevice3 import exceptions as x

from harness.device import errors
from harness.device.errors import DeviceFault, device_errors, install_error_code, translate
from harness.errors import ExitCode, UsageError

UDID = "00008120-001A2B3C4D5E6F70"


def _lockdown(cls, code, version="17.5.1"):
    return cls(f"lockdownd said {code}", UDID, version, error=code)


@pytest.mark.parametrize(("exc", "tag", "words"), [
    (x.ConnectionFailedToUsbmuxdError(), errors.USBMUXD_DOWN, "no usbmuxd"),
    (x.PasswordRequiredError("locked"), errors.PASSCODE_LOCKED, "passcode"),
    (_lockdown(x.PasscodeRequiredError, "PasscodeRequired"), errors.PASSCODE_LOCKED, "passcode"),
    (x.PairingDialogResponsePendingError(), errors.TRUST_PENDING, "Trust"),
    (x.UserDeniedPairingError(), errors.TRUST_DENIED, "Don't Trust"),
    (x.NotPairedError(), errors.NOT_PAIRED, "lockdown pair"),
    (x.InvalidHostIDError(), errors.NOT_PAIRED, "not paired"),
    (x.DeveloperModeIsNotEnabledError(), errors.DEVELOPER_MODE_OFF, "Developer Mode"),
    (x.DeviceNotFoundError(UDID), errors.DEVICE_GONE, "not attached"),
    (x.NoDeviceConnectedError(), errors.DEVICE_GONE, "not attached"),
    (x.BadDevError("gone"), errors.DEVICE_GONE, "not attached"),
    (x.ConnectionTerminatedError(), errors.DEVICE_GONE, "dropped"),
    (asyncio.IncompleteReadError(b"", 4), errors.DEVICE_GONE, "dropped"),
    (ConnectionResetError(), errors.DEVICE_GONE, "dropped"),
    (x.TunneldConnectionError(), errors.TUNNEL_NEEDED, "tunneld"),
    (x.AppNotInstalledError("runner missing"), errors.APP_MISSING, "runner missing"),
    (x.WdaError("boom", status_code=500), errors.WDA_DOWN, "WDA"),
    (x.IncorrectModeError(), errors.DEVICE_ERROR, "recovery"),
])
def test_each_exception_maps_to_its_fault(exc, tag, words):
    fault = translate(exc, action="do it", udid=UDID)
    assert isinstance(fault, DeviceFault)
    assert fault.tag == tag
    assert fault.exit_code == ExitCode.LAB_FAULT
    assert words in str(fault)
    if tag != errors.USBMUXD_DOWN:
        assert UDID in str(fault) and "do it" in str(fault)


def test_a_refused_developer_service_means_no_disk_image_before_ios_17():
    exc = _lockdown(x.InvalidServiceError, "InvalidService", "16.7.10")
    fault = translate(exc, action="start WDA", udid=UDID, service="com.apple.testmanagerd.lockdown.secure")
    assert fault.tag == errors.NO_DDI
    assert "auto-mount" in str(fault) and "tunnel" not in str(fault)


def test_from_ios_17_the_same_refusal_names_the_tunnel_too():
    exc = _lockdown(x.InvalidServiceError, "InvalidService", "17.5.1")
    fault = translate(exc, action="screenshot", udid=UDID, service="com.apple.mobile.screenshotr")
    assert fault.tag == errors.NO_DDI
    assert "auto-mount" in str(fault) and "tunneld" in str(fault)


def test_a_refused_ordinary_service_is_service_refused():
    exc = _lockdown(x.InvalidServiceError, "InvalidService")
    fault = translate(exc, action="list apps", udid=UDID, service="com.apple.mobile.installation_proxy")
    assert fault.tag == errors.SERVICE_REFUSED
    assert "com.apple.mobile.installation_proxy" in str(fault)


def test_install_failures_carry_installds_code():
    exc = x.AppInstallError("ApplicationVerificationFailed: Failed to verify code signature of /x : "
                            "0xe8008015")
    assert install_error_code(exc) == "ApplicationVerificationFailed"
    fault = translate(exc, action="install App.ipa", udid=UDID)
    assert fault.tag == errors.INSTALL_FAILED
    assert "ApplicationVerificationFailed" in str(fault) and "provisioning profile" in str(fault)
    assert install_error_code(x.AppInstallError("The package is not a valid ZIP archive.")) == ""


async def test_the_deadline_becomes_a_timeout_fault_naming_the_action():
    with pytest.raises(DeviceFault) as info:
        async with device_errors("read the clock", UDID, timeout=0.05):
            await asyncio.sleep(5)
    assert info.value.tag == errors.DEVICE_TIMEOUT
    assert "read the clock" in str(info.value) and "0.05 s" in str(info.value)


async def test_a_usbmuxd_that_never_answers_is_usbmuxd_down():
    with pytest.raises(DeviceFault) as info:
        async with device_errors("list devices", None, timeout=0.05):
            await asyncio.sleep(5)
    assert info.value.tag == errors.USBMUXD_DOWN


async def test_user_errors_and_inner_faults_pass_through_unchanged():
    with pytest.raises(UsageError):
        async with device_errors("install", UDID, timeout=1):
            raise UsageError("no such .ipa")
    inner = DeviceFault("inner", errors.PASSCODE_LOCKED, UDID)
    with pytest.raises(DeviceFault) as info:
        async with device_errors("outer", UDID, timeout=1):
            raise inner
    assert info.value is inner


async def test_the_original_exception_is_kept_as_the_cause():
    with pytest.raises(DeviceFault) as info:
        async with device_errors("open", UDID):
            raise x.PasswordRequiredError("locked")
    assert isinstance(info.value.__cause__, x.PasswordRequiredError)
