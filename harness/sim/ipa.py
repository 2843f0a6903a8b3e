"""Build minimal .ipa files for tests: a zip with ``Payload/<Name>.app/Info.plist`` (and an executable)."""

from __future__ import annotations

import plistlib
import zipfile
from pathlib import Path


def build_ipa(
    path: str | Path,
    bundle_id: str,
    version: str = "1.0",
    build: str = "1",
    *,
    name: str | None = None,
    extra_info: dict | None = None,
) -> Path:
    """Write an unsigned .ipa that installation_proxy (virtual) accepts; returns ``path``."""
    path = Path(path)
    name = name or bundle_id.rsplit(".", 1)[-1].capitalize() or "App"
    info = {
        "CFBundleIdentifier": bundle_id,
        "CFBundleName": name,
        "CFBundleDisplayName": name,
        "CFBundleExecutable": name,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": build,
        "CFBundlePackageType": "APPL",
        "MinimumOSVersion": "16.0",
        "UIRequiredDeviceCapabilities": ["arm64"],
        "NSMicrophoneUsageDescription": "The voice agent listens to you.",
        "NSLocalNetworkUsageDescription": "Connects to the test harness.",
        **(extra_info or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"Payload/{name}.app/Info.plist", plistlib.dumps(info))
        z.writestr(f"Payload/{name}.app/{name}", b"\xcf\xfa\xed\xfe" + b"\x00" * 60)  # a Mach-O magic stub
    return path
