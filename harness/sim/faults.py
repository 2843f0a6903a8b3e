"""Faults a test can switch on for a virtual phone (through the control API).

Each reproduces what a real lab phone does when something is wrong, with the exact error code the
real daemon sends, so the harness's error mapping is exercised end to end.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import UsageError

# installd's real code for an unsigned/badly provisioned build (inference: message text as seen in
# Xcode/ideviceinstaller output; the code 0xe8008015 is "A valid provisioning profile for this
# executable was not found").
INSTALL_ERRORS: dict[str, str] = {
    "ApplicationVerificationFailed": "Failed to verify code signature of {path} : 0xe8008015 "
    "(A valid provisioning profile for this executable was not found.)",
    "DeviceOSVersionTooLow": "The system version is lower than the minimum OS version specified for bundle "
    "at {path}.",
    "APIInternalError": "Could not install at this time.",
}


@dataclass
class Faults:
    refused_services: list[str] = field(default_factory=list)
    """StartService answers ``InvalidService`` for these names ("*" for every service), as a phone
    without its developer disk image does for developer services."""
    passcode_locked: bool = False
    """The phone is locked with a passcode: StartService and Pair answer ``PasswordProtected``."""
    install_error: str | None = None
    """installation_proxy's Install fails with this installd error code."""
    trust_prompt_s: float = 0.0
    """The trust dialog stays open this long after the first ``Pair``:
    ``PairingDialogResponsePending`` until then."""
    deny_pairing: bool = False
    """The user taps "Don't Trust": ``UserDeniedPairing``."""
    trust_prompt_since: float | None = field(default=None, repr=False)

    def update(self, values: dict[str, Any]) -> None:
        known = {k for k in asdict(self) if k != "trust_prompt_since"}
        for key, value in values.items():
            if key not in known:
                raise UsageError(f"unknown fault {key!r}; known faults: {', '.join(sorted(known))}")
            if key == "install_error" and value is not None and value not in INSTALL_ERRORS:
                raise UsageError(
                    f"install_error {value!r} is not modelled; choose one of {', '.join(INSTALL_ERRORS)}"
                )
            setattr(self, key, value)
        if "trust_prompt_s" in values:
            self.trust_prompt_since = None

    def refuses(self, service: str) -> bool:
        return "*" in self.refused_services or service in self.refused_services

    def trust_pending(self) -> bool:
        """True while the (slow) trust dialog is still up; starts its clock on first call."""
        if self.trust_prompt_s <= 0:
            return False
        now = time.monotonic()
        if self.trust_prompt_since is None:
            self.trust_prompt_since = now
        return now - self.trust_prompt_since < self.trust_prompt_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("trust_prompt_since")
        return d
