"""installation_proxy: Browse, Lookup, Install/Upgrade from an .ipa staged over AFC, Uninstall.

BE-length plist stream. Progress replies are ``{PercentComplete, Status}`` with installd's stage
names, the end is ``{Status: Complete}``, an error is ``{Error, ErrorDescription, ErrorDetail}``.
"""

from __future__ import annotations

import asyncio
import io
import plistlib
import posixpath
import uuid
import zipfile
from typing import Any

from harness.sim.faults import INSTALL_ERRORS
from harness.sim.lockdownd import plist_frame, read_plist
from harness.sim.phone import PortHandler, VirtualPhone, app_info

INSTALL_STAGES = (
    ("CreatingStagingDirectory", 5),
    ("ExtractingPackage", 15),
    ("InspectingPackage", 20),
    ("TakingInstallLock", 20),
    ("PreflightingApplication", 30),
    ("InstallingEmbeddedProfile", 30),
    ("VerifyingApplication", 40),
    ("CreatingContainer", 50),
    ("InstallingApplication", 60),
    ("PostflightingApplication", 70),
    ("SandboxingApplication", 80),
    ("GeneratingApplicationMap", 90),
)
UNINSTALL_STAGES = (("RemovingApplication", 50), ("GeneratingApplicationMap", 90))
# installd's ErrorDetail numbers for the modelled codes (inference from public logs).
ERROR_DETAIL = {
    "ApplicationVerificationFailed": -402620395,
    "PackageExtractionFailed": -402653081,
    "PackageInspectionFailed": -402653083,
    "DeviceOSVersionTooLow": -402653109,
    "APIInternalError": -402653180,
}


class InstallError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


def read_ipa(data: bytes) -> dict[str, Any]:
    """The app's Info.plist from an .ipa (``Payload/X.app/Info.plist``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [
                n
                for n in z.namelist()
                if n.startswith("Payload/") and n.endswith(".app/Info.plist") and n.count("/") == 2
            ]
            if not names:
                raise InstallError(
                    "PackageInspectionFailed",
                    "Failed to get the bundle's Info.plist: no Payload/<name>.app/Info.plist in the package",
                )
            info = plistlib.loads(z.read(names[0]))
            info["_AppFolder"] = posixpath.basename(posixpath.dirname(names[0]))
            return info
    except zipfile.BadZipFile as exc:
        raise InstallError("PackageExtractionFailed", f"Failed to extract the package: {exc}") from None


def _filter(info: dict[str, Any], attributes: list[str] | None) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k in attributes} if attributes else dict(info)


def _select(phone: VirtualPhone, options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    app_type = options.get("ApplicationType", "Any")
    bundle_ids = options.get("BundleIDs")
    attributes = options.get("ReturnAttributes")
    selected = {}
    for bid, info in phone.apps.items():
        if app_type not in ("Any", None) and info.get("ApplicationType") != app_type:
            continue
        if bundle_ids is not None and bid not in bundle_ids:
            continue
        selected[bid] = _filter(info, attributes)
    return selected


async def _install(phone: VirtualPhone, request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    path = str(request.get("PackagePath", ""))

    async def send(body: dict[str, Any]) -> None:
        writer.write(plist_frame(body))
        await writer.drain()

    try:
        try:
            data = phone.media.read(path)
        except FileNotFoundError:
            raise InstallError("PackageExtractionFailed", f"Could not open {path}: no such file") from None
        for stage, percent in INSTALL_STAGES[:3]:
            await send({"PercentComplete": percent, "Status": stage})
        info = read_ipa(data)
        bundle_id = info.get("CFBundleIdentifier")
        if not bundle_id:
            raise InstallError("PackageInspectionFailed", "The bundle's Info.plist has no CFBundleIdentifier")
        staged = (
            f"/private/var/installd/Library/Caches/com.apple.mobile.installd.staging/temp.{uuid.uuid4().hex[:6]}"
            f"/extracted/Payload/{info['_AppFolder']}"
        )
        for stage, percent in INSTALL_STAGES[3:7]:
            await send({"PercentComplete": percent, "Status": stage})
        if phone.faults.install_error:
            code = phone.faults.install_error
            raise InstallError(code, INSTALL_ERRORS[code].format(path=staged))
        for stage, percent in INSTALL_STAGES[7:]:
            await send({"PercentComplete": percent, "Status": stage})
        executable = info.get("CFBundleExecutable") or info["_AppFolder"].removesuffix(".app")
        record = app_info(
            bundle_id,
            info.get("CFBundleDisplayName") or info.get("CFBundleName") or executable,
            str(info.get("CFBundleShortVersionString", "1.0")),
            str(info.get("CFBundleVersion", "1")),
            executable=executable,
        )
        record.update({k: v for k, v in info.items() if not k.startswith("_") and k not in record})
        phone.apps[bundle_id] = record
        phone.truth.emit(
            "sim",
            "app-installed",
            udid=phone.udid,
            bundle_id=bundle_id,
            version=record["CFBundleShortVersionString"],
            build=record["CFBundleVersion"],
        )
        phone.log(
            "installd",
            f"Install Successful for (Placeholder:{bundle_id}); Staging: {staged}",
            subsystem="com.apple.installd",
            category="Install",
        )
        await send({"Status": "Complete"})
    except InstallError as exc:
        phone.truth.emit("sim", "app-install-failed", udid=phone.udid, error=exc.code)
        await send(
            {
                "Error": exc.code,
                "ErrorDescription": exc.description,
                "ErrorDetail": ERROR_DETAIL.get(exc.code, -402653184),
            }
        )


async def serve_installation_proxy(
    phone: VirtualPhone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        request = await read_plist(reader)
        if request is None:
            return
        command = request.get("Command")
        options = request.get("ClientOptions") or {}
        if command == "Browse":
            apps = list(_select(phone, options).values())
            for start in range(0, len(apps), 20):
                chunk = apps[start : start + 20]
                writer.write(
                    plist_frame(
                        {
                            "CurrentIndex": start,
                            "CurrentAmount": len(chunk),
                            "Total": len(apps),
                            "CurrentList": chunk,
                            "Status": "BrowsingApplications",
                        }
                    )
                )
            writer.write(plist_frame({"Status": "Complete"}))
        elif command == "Lookup":
            writer.write(plist_frame({"LookupResult": _select(phone, options), "Status": "Complete"}))
        elif command in ("Install", "Upgrade"):
            await _install(phone, request, writer)
        elif command == "Uninstall":
            bundle_id = str(request.get("ApplicationIdentifier", ""))
            for stage, percent in UNINSTALL_STAGES:
                writer.write(plist_frame({"PercentComplete": percent, "Status": stage}))
            if phone.apps.get(bundle_id, {}).get("ApplicationType") == "System":
                writer.write(
                    plist_frame(
                        {
                            "Error": "MIInstallerErrorDomain",
                            "ErrorDescription": f"{bundle_id} is a system app",
                        }
                    )
                )
            else:
                if phone.apps.pop(bundle_id, None) is not None:
                    phone.truth.emit("sim", "app-uninstalled", udid=phone.udid, bundle_id=bundle_id)
                writer.write(plist_frame({"Status": "Complete"}))
        elif command == "CheckCapabilitiesMatch":
            writer.write(plist_frame({"LookupResult": True, "Status": "Complete"}))
        else:
            writer.write(plist_frame({"Error": "UnknownCommand", "ErrorDescription": f"{command!r}"}))
        await writer.drain()


def installation_proxy_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_installation_proxy(phone, reader, writer)
