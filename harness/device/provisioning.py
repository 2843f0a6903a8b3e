"""The provisioning profiles installed on a phone, and whether one still lets an app run.

A developer-signed app (the WebDriverAgent runner above all) runs only while a provisioning profile
covers it: its App ID, this phone's UDID, and a date before ``ExpirationDate`` (Apple TN3125 "Inside
Code Signing: Provisioning Profiles": a free personal team's profile lasts 7 days, a paid team's
development profile up to a year). Once it expires iOS refuses to launch the runner and WDA cannot
start, which is a lab fault to catch before a run.

installation_proxy does not report a profile's dates. The phone's misagent does: pymobiledevice3's
``MisagentService.copy_all()`` (``services/misagent.py`` in 11.45, the ``provision list`` command)
returns each installed profile with its plist. A developer-signed app's embedded profile is
installed with the app, so it is listed there [likely; confirm with ``pymobiledevice3 provision list``
on a lab phone: the runner's profile should be in it].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.device.errors import device_errors

MISAGENT = "com.apple.misagent"


@dataclass(frozen=True)
class Profile:
    name: str
    uuid: str
    app_id: str
    """``Entitlements.application-identifier``: ``TEAMID.bundle.id`` or a wildcard ``TEAMID.prefix.*``."""
    expires: datetime
    """``ExpirationDate`` (UTC)."""
    devices: tuple[str, ...] | None
    """``ProvisionedDevices``; None when the profile provisions all devices (enterprise)."""

    @classmethod
    def from_plist(cls, plist: dict[str, Any]) -> Profile:
        entitlements = plist.get("Entitlements") or {}
        expires = plist.get("ExpirationDate")
        if not isinstance(expires, datetime):
            expires = datetime.min
        # plistlib reads <date> as a naive datetime in UTC
        expires = expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires.astimezone(UTC)
        devices = plist.get("ProvisionedDevices")
        return cls(
            name=str(plist.get("Name", "")),
            uuid=str(plist.get("UUID", "")),
            app_id=str(entitlements.get("application-identifier", "")),
            expires=expires,
            devices=None if plist.get("ProvisionsAllDevices") else tuple(str(d) for d in devices or ()),
        )

    def covers_app(self, bundle_id: str) -> bool:
        """Whether the App ID is this bundle id (or a wildcard that matches it): TN3125 "The What"."""
        _team, _, pattern = self.app_id.partition(".")
        if pattern.endswith("*"):
            return bundle_id.startswith(pattern[:-1])
        return pattern == bundle_id

    def covers_device(self, udid: str) -> bool:
        if self.devices is None:
            return True
        want = udid.replace("-", "").upper()
        return any(d.replace("-", "").upper() == want for d in self.devices)

    def days_left(self, now: datetime | None = None) -> float:
        now = now or datetime.now(UTC)
        return (self.expires - now).total_seconds() / 86400


async def installed_profiles(lockdown: Any, udid: str, *, timeout: float = 10.0) -> list[Profile]:
    """Every provisioning profile installed on the phone (misagent ``CopyAll``)."""
    from pymobiledevice3.services.misagent import MisagentService

    async with (device_errors("list provisioning profiles", udid, timeout, service=MISAGENT),
                MisagentService(lockdown) as misagent):
        found = await misagent.copy_all()
    return [Profile.from_plist(p.plist) for p in found]


def profile_for(profiles: list[Profile], bundle_id: str, udid: str) -> Profile | None:
    """The profile that lets ``bundle_id`` run on ``udid`` longest (iOS accepts any valid one), or
    None when no profile covers both."""
    fits = [p for p in profiles if p.covers_app(bundle_id) and p.covers_device(udid)]
    return max(fits, key=lambda p: p.expires, default=None)
