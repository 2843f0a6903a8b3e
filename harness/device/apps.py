"""Apps on the phone: list, version, install an .ipa, uninstall (installation_proxy, AFC upload).

A bad .ipa path or a file that is not an .ipa is the user's input (UsageError, checked here before
anything reaches the phone); installd refusing the app (signing, OS version) is a lab fault
tagged ``install-failed`` carrying installd's own error code.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.device.errors import device_errors
from harness.errors import UsageError

INSTALLATION_PROXY = "com.apple.mobile.installation_proxy"


@dataclass(frozen=True)
class AppInfo:
    bundle_id: str
    name: str
    version: str
    """CFBundleShortVersionString (the marketing version, "1.4.2")."""
    build: str
    """CFBundleVersion."""
    kind: str
    """"User" or "System"."""
    path: str = ""
    executable: str = ""
    """CFBundleExecutable: the app's process name in the device log."""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AppInfo:
        return cls(
            bundle_id=str(record.get("CFBundleIdentifier", "")),
            name=str(record.get("CFBundleDisplayName") or record.get("CFBundleName") or ""),
            version=str(record.get("CFBundleShortVersionString", "")),
            build=str(record.get("CFBundleVersion", "")),
            kind=str(record.get("ApplicationType", "")),
            path=str(record.get("Path", "")),
            executable=str(record.get("CFBundleExecutable", "")),
        )


async def list_apps(lockdown: Any, udid: str, *, kind: str = "Any", timeout: float = 20.0,
                    bundle_ids: list[str] | None = None) -> dict[str, AppInfo]:
    """Installed apps by bundle id. ``kind``: "Any", "User" or "System"."""
    from pymobiledevice3.services.installation_proxy import InstallationProxyService

    async with (device_errors("list apps", udid, timeout, service=INSTALLATION_PROXY),
                InstallationProxyService(lockdown=lockdown) as proxy):
        records = await proxy.get_apps(application_type=kind, bundle_identifiers=bundle_ids)
    return {bid: AppInfo.from_record({"CFBundleIdentifier": bid, **rec}) for bid, rec in records.items()}


async def app_info(lockdown: Any, udid: str, bundle_id: str, *, timeout: float = 20.0) -> AppInfo | None:
    """The installed app ``bundle_id``, or None when it is not installed."""
    apps = await list_apps(lockdown, udid, timeout=timeout, bundle_ids=[bundle_id])
    return apps.get(bundle_id)


def check_ipa(path: str | Path) -> Path:
    """The .ipa at ``path``, checked locally: it exists and is a zip with ``Payload/<name>.app``."""
    p = Path(path)
    if p.is_dir():
        if p.suffix == ".app":
            return p  # pymobiledevice3 zips an .app folder itself
        raise UsageError(f"{p} is a folder, not an .ipa or .app; pass the .ipa the build produced")
    if not p.exists():
        raise UsageError(f"{p}: no such .ipa; check app.ipa in the lab file or the path you passed")
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        raise UsageError(f"{p} is not an .ipa (not a zip archive); export the build as an .ipa") from None
    if not any(n.startswith("Payload/") and ".app/" in n for n in names):
        raise UsageError(f"{p} is not an .ipa: it has no Payload/<App>.app inside; export a device build")
    return p


async def install(lockdown: Any, udid: str, ipa: str | Path, *, timeout: float = 300.0) -> None:
    """Upload ``ipa`` over AFC and install it; DeviceFault(install-failed) with installd's code if refused."""
    from pymobiledevice3.services.installation_proxy import InstallationProxyService

    path = check_ipa(ipa)
    async with (device_errors(f"install {path.name}", udid, timeout, service=INSTALLATION_PROXY),
                InstallationProxyService(lockdown=lockdown) as proxy):
        await proxy.install_from_local(path)


async def uninstall(lockdown: Any, udid: str, bundle_id: str, *, timeout: float = 60.0) -> None:
    from pymobiledevice3.services.installation_proxy import InstallationProxyService

    async with (device_errors(f"uninstall {bundle_id}", udid, timeout, service=INSTALLATION_PROXY),
                InstallationProxyService(lockdown=lockdown) as proxy):
        await proxy.uninstall(bundle_id)
