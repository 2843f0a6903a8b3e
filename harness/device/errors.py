"""pymobiledevice3's exceptions as harness errors: one table, one place.

Everything that goes wrong between the lab host and a phone is a lab fault (exit 3), never an app
failure: the phone was unplugged, is locked, was never trusted, lacks its developer disk image,
or WDA is down. Each fault carries a stable ``tag`` for reports and a message that names the phone
and the fix. Only what the user typed (a missing .ipa, an unknown device) is a :class:`UsageError`;
those checks live next to the input they check, not here.

pymobiledevice3 raises its own hierarchy (``pymobiledevice3.exceptions``), plain ``OSError`` /
``asyncio.IncompleteReadError`` when a stream dies under it, and ``TimeoutError`` from our own
deadlines; :func:`device_errors` turns all of them into :class:`DeviceFault`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from harness import ios
from harness.errors import HarnessError, LabFault

# Stable tags: one table, harness.lab_faults (reports and JUnit properties key on them).
from harness.lab_faults import (
    APP_MISSING,
    DEVELOPER_MODE_OFF,
    DEVICE_ERROR,
    DEVICE_GONE,
    DEVICE_TIMEOUT,
    INSTALL_FAILED,
    NO_DDI,
    NOT_PAIRED,
    PASSCODE_LOCKED,
    SERVICE_REFUSED,
    TRUST_DENIED,
    TRUST_PENDING,
    TUNNEL_NEEDED,
    USBMUXD_DOWN,
    WDA_DOWN,
    lab_fault,
)

DEVELOPER_SERVICES = ios.DEVELOPER_SERVICES

FIX_UNLOCK = lab_fault(PASSCODE_LOCKED).fix
FIX_TRUST = "unlock the phone and tap Trust on the 'Trust This Computer?' dialog"
FIX_PAIR = "pair it: `pymobiledevice3 lockdown pair --udid UDID`, then tap Trust on the phone"
FIX_DDI = ("mount the developer disk image: `pymobiledevice3 mounter auto-mount --udid UDID` "
           "(needed after every reboot)")
FIX_DEV_MODE = (
    "`pymobiledevice3 amfi enable-developer-mode --udid UDID` (the phone must have no passcode; it "
    "restarts and the command confirms the prompt after the restart: pymobiledevice3 services/amfi.py), "
    "or `pymobiledevice3 amfi reveal-developer-mode --udid UDID` and then turn on Settings > Privacy & "
    "Security > Developer Mode (iOS hides that switch on a phone that never met Xcode)"
)
FIX_TUNNEL = ("start a tunnel for developer services: `sudo pymobiledevice3 remote tunneld` "
              "(iOS 17.0-17.3 needs root; iOS 17.4+ can use the userspace tunnel)")
RUNNER_README = 'README: "Building and signing the runner"'
FIX_INSTALL_RUNNER = (
    f"build and sign WebDriverAgentRunner with your team ({RUNNER_README}), install it with "
    "`pymobiledevice3 apps install WebDriverAgentRunner-Runner.app --udid UDID` and set its bundle id "
    "as wda_runner: in lab.yaml"
)
FIX_RESIGN_RUNNER = (
    "re-sign the runner with a current provisioning profile and reinstall it (a free personal team's "
    "profile lasts 7 days); list the profiles with `pymobiledevice3 provision list --udid UDID`"
)
FIX_CABLE = "check the cable and hub, then `harness devices` to see it is back"
FIX_USBMUXD = ("start usbmuxd (`systemctl start usbmuxd` or `usbmuxd -f`), or for the virtual lab "
               "`harness sim up --state-dir DIR` and pass --lab DIR/lab.yaml")


def fix_start_wda(udid: str, runner: str | None, ios_version: str = "") -> str:
    """How to start WebDriverAgent from this host and keep it up (pymobiledevice3 11.45,
    ``cli/developer/dvt/__init__.py``: ``developer dvt xcuitest`` runs the runner until it is stopped;
    ``developer wda <subcommand>`` is a one-shot tool that stops the runner when it exits)."""
    runner = runner or "RUNNER_BUNDLE_ID"
    keep = f"`pymobiledevice3 developer dvt xcuitest {runner} --udid {udid}`"
    tunnel = (f"`sudo pymobiledevice3 remote tunneld` and, beside it, "
              f"`pymobiledevice3 developer dvt xcuitest {runner} --tunnel {udid}`")
    parts = ios.parse(ios_version) if ios_version else (0,)
    if parts[0] == 17 and parts[:2] < (17, 4):
        how = f"iOS {ios_version} needs a root tunnel (17.0-17.3): keep {tunnel} running for the whole run"
    elif ios_version:
        how = f"keep {keep} running for the whole run"
    else:
        how = f"keep {keep} running for the whole run (on iOS 17.0-17.3: {tunnel})"
    text = (f"{how}, or let the harness start it (wda_runner: and wda: {{launch: xcuitest}} in lab.yaml); "
            "not `developer wda ... status`, which stops the runner when it exits")
    if runner == "RUNNER_BUNDLE_ID":
        text += f"; RUNNER_BUNDLE_ID is your signed runner's bundle id ({RUNNER_README})"
    return text


class DeviceFault(LabFault):
    """A lab fault on one phone. ``udid`` names it (None when no phone was involved yet)."""

    def __init__(self, message: str, tag: str, udid: str | None = None) -> None:
        super().__init__(message, tag=tag)
        self.udid = udid


def _who(udid: str | None) -> str:
    return f"phone {udid}" if udid else "usbmuxd"


def translate(exc: BaseException, *, action: str, udid: str | None = None, service: str | None = None,
              ios_version: str | None = None) -> DeviceFault:
    """The harness fault for a pymobiledevice3 (or stream) exception raised while doing ``action``.

    ``service`` is the lockdown service being started, ``ios_version`` the phone's, when known: an
    ``InvalidService`` answer for a developer service means "no DDI" before iOS 17 and "no DDI or
    no tunnel" from iOS 17 on (lockdownd says the same in both cases).
    """
    from pymobiledevice3 import exceptions as x

    who = _who(udid)
    fix_udid = udid or "UDID"

    def fault(what: str, tag: str, fix: str = "") -> DeviceFault:
        text = f"{who}: {action}: {what}"
        if fix:
            text += f"; fix: {fix.replace('UDID', fix_udid)}"
        return DeviceFault(text, tag, udid)

    if isinstance(exc, x.ConnectionFailedToUsbmuxdError):
        return DeviceFault(f"no usbmuxd at {_address()}: {action} needs it; fix: {FIX_USBMUXD}",
                           USBMUXD_DOWN, udid)
    if isinstance(exc, x.PasswordRequiredError | x.PasscodeRequiredError | x.DeviceHasPasscodeSetError):
        return fault("the phone is locked with a passcode", PASSCODE_LOCKED, FIX_UNLOCK)
    if isinstance(exc, x.PairingDialogResponsePendingError):
        return fault("the 'Trust This Computer?' dialog was not answered in time", TRUST_PENDING, FIX_TRUST)
    if isinstance(exc, x.UserDeniedPairingError):
        return fault("the phone's user tapped Don't Trust", TRUST_DENIED,
                     "unplug and replug it, then tap Trust")
    if isinstance(exc, x.NotPairedError | x.InvalidHostIDError | x.FatalPairingError | x.NotTrustedError):
        return fault("this host is not paired with the phone", NOT_PAIRED, FIX_PAIR)
    if isinstance(exc, x.DeveloperModeIsNotEnabledError):
        return fault("Developer Mode is off", DEVELOPER_MODE_OFF, FIX_DEV_MODE)
    if isinstance(exc, x.DeveloperDiskImageNotFoundError | x.NotMountedError):
        return fault("no developer disk image is mounted", NO_DDI, FIX_DDI)
    if isinstance(exc, x.TunneldConnectionError | x.UserspaceTunnelUnavailableError | x.RSDRequiredError
                  | x.AccessDeniedError | x.QuicProtocolNotSupportedError):
        return fault(f"no iOS 17+ tunnel for developer services ({_describe(exc)})", TUNNEL_NEEDED,
                     FIX_TUNNEL)
    if isinstance(exc, x.InvalidServiceError | x.StartServiceError):
        name = service or getattr(exc, "service_name", None) or "a service"
        ios_version = ios_version or getattr(exc, "product_version", None)
        if name in DEVELOPER_SERVICES or service_is_developer(name):
            if ios_version and _major(ios_version) >= 17:
                return fault(f"lockdownd refused developer service {name} (iOS {ios_version}: it needs the "
                             "developer disk image and an RSD tunnel)", NO_DDI,
                         f"{FIX_DDI}; and {FIX_TUNNEL}")
            return fault(f"lockdownd refused developer service {name}", NO_DDI, FIX_DDI)
        return fault(f"lockdownd refused service {name} ({_describe(exc)})", SERVICE_REFUSED,
                     "restart the phone; if it persists, the service is not available on this iOS version")
    if isinstance(exc, x.AppNotInstalledError):
        return fault(_describe(exc), APP_MISSING, "install it (the lab file's app.ipa) with the harness")
    if isinstance(exc, x.AppInstallError):
        code = install_error_code(exc)
        return fault(f"installd refused: {_describe(exc)}", INSTALL_FAILED, _install_fix(code))
    if isinstance(exc, x.WdaError):
        return fault(f"WDA answered an error: {_describe(exc)}", WDA_DOWN, "restart WDA on the phone")
    if isinstance(exc, x.DeviceNotFoundError | x.NoDeviceConnectedError | x.BadDevError):
        return fault("the phone is not attached to usbmuxd", DEVICE_GONE, FIX_CABLE)
    if isinstance(exc, x.ConnectionTerminatedError | asyncio.IncompleteReadError | ConnectionError
                  | EOFError):
        return fault("the connection to the phone dropped (unplugged or rebooting?)", DEVICE_GONE, FIX_CABLE)
    if isinstance(exc, x.ConnectionFailedError):
        return fault("nothing listens on that device port", SERVICE_REFUSED)
    if isinstance(exc, x.IncorrectModeError):
        return fault("the phone is in recovery/restore mode, not normal mode", DEVICE_ERROR,
                     "reboot it into iOS")
    if isinstance(exc, TimeoutError):
        return fault("timed out", DEVICE_TIMEOUT, "check the phone is unlocked and responsive; replug it")
    if isinstance(exc, x.PyMobileDevice3Exception | OSError):
        return fault(f"{type(exc).__name__}: {_describe(exc)}", DEVICE_ERROR)
    return fault(f"{type(exc).__name__}: {exc}", DEVICE_ERROR)


def service_is_developer(name: str) -> bool:
    return name in DEVELOPER_SERVICES or name.startswith(("com.apple.instruments.", "com.apple.testmanagerd.",
                                                          "com.apple.dt."))


def install_error_code(exc: BaseException) -> str:
    """installd's error code from an AppInstallError ("ApplicationVerificationFailed: ..." -> the code)."""
    text = str(exc)
    head = text.split(":", 1)[0].strip()
    return head if head and " " not in head else ""


def _install_fix(code: str) -> str:
    return {
        "ApplicationVerificationFailed":
            "sign the .ipa with a provisioning profile that lists this phone's UDID",
        "DeviceOSVersionTooLow": "build the app for this phone's iOS version (lower its deployment target)",
        "APIInternalError": "retry; if it persists, restart the phone",
        "IncorrectArchitecture": "build the app for arm64 (a device build, not a simulator build)",
    }.get(code, "read installd's error above; check signing and the deployment target")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _address() -> str:
    from harness.device.usbmux import usbmuxd_address

    return usbmuxd_address()


@contextlib.asynccontextmanager
async def device_errors(action: str, udid: str | None = None, timeout: float | None = None, *,
                        service: str | None = None, ios_version: str | None = None) -> AsyncIterator[None]:
    """Run the block with a deadline; any device-side exception leaves as a :class:`DeviceFault`.

    Harness errors (UsageError, an inner DeviceFault) pass through unchanged.
    """
    try:
        async with asyncio.timeout(timeout):
            yield
    except HarnessError:
        raise
    except TimeoutError as exc:
        from pymobiledevice3.exceptions import PyMobileDevice3Exception

        if isinstance(exc, PyMobileDevice3Exception):
            raise translate(exc, action=action, udid=udid, service=service, ios_version=ios_version) from exc
        limit = f" within {timeout:g} s" if timeout is not None else ""
        if udid is None:
            raise DeviceFault(f"usbmuxd at {_address()} did not answer{limit} ({action}); fix: restart it "
                              "(`systemctl restart usbmuxd`) or point --lab / USBMUXD_SOCKET_ADDRESS at a "
                              "live one", USBMUXD_DOWN, None) from exc
        raise DeviceFault(f"{_who(udid)}: {action}: no answer{limit}; fix: check the phone is unlocked and "
                          "responsive, replug it", DEVICE_TIMEOUT, udid) from exc
    except Exception as exc:
        raise translate(exc, action=action, udid=udid, service=service, ios_version=ios_version) from exc
