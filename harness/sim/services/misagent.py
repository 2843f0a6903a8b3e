"""misagent: the provisioning profiles installed on the phone (``com.apple.misagent``).

The wire is a BE-length plist stream, as libimobiledevice's ``src/misagent.c`` speaks it: a request
``{MessageType, ProfileType: "Provisioning"}``, a reply ``{Status: 0, Payload: [profile, ...]}``
(``Status`` non-zero on a refusal). ``CopyAll`` (iOS 9.3+, what pymobiledevice3 11.45 sends) and the
older ``Copy`` list the profiles; this virtual phone does not install or remove profiles (any other
message type is refused with a non-zero status).

Each profile is what a real ``.mobileprovision`` is (Apple TN3125): a property list wrapped in a CMS
SignedData (RFC 5652), DER-encoded. The plist carries the keys TN3125 names (``Name``, ``UUID``,
``TeamIdentifier``, ``Entitlements.application-identifier``, ``ProvisionedDevices``,
``CreationDate``, ``ExpirationDate``); it is signed here with the phone's own key, not Apple's (no
client checks the signature: pymobiledevice3 cuts the plist out of the DER at ``<?xml``).
"""

from __future__ import annotations

import asyncio
import plistlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from harness.sim.lockdownd import plist_frame, read_plist
from harness.sim.phone import PortHandler, VirtualPhone

VIRTUAL_TEAM = "SIMTEAM001"
REFUSED = 0xE8000022
"""A non-zero misagent status for what this phone does not model (any non-zero status is a refusal)."""


def development_profile(bundle_id: str, udid: str, *, team: str = VIRTUAL_TEAM,
                        created: datetime | None = None, days: int = 365) -> dict[str, Any]:
    """The plist of a development profile for ``bundle_id`` on ``udid`` (a paid team's lasts a year,
    a free personal team's 7 days: pass ``days=7``)."""
    created = created or datetime.now(UTC).replace(microsecond=0)
    return {
        "AppIDName": bundle_id.rsplit(".", 1)[-1],
        "ApplicationIdentifierPrefix": [team],
        "CreationDate": created.replace(tzinfo=None),
        "Platform": ["iOS"],
        "IsXcodeManaged": True,
        "Entitlements": {
            "application-identifier": f"{team}.{bundle_id}",
            "com.apple.developer.team-identifier": team,
            "get-task-allow": True,
            "keychain-access-groups": [f"{team}.*"],
        },
        "ExpirationDate": (created + timedelta(days=days)).replace(tzinfo=None),
        "Name": f"iOS Team Provisioning Profile: {bundle_id}",
        "ProvisionedDevices": [udid],
        "TeamIdentifier": [team],
        "TeamName": "Virtual Lab Team",
        "TimeToLive": days,
        "UUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{team}/{bundle_id}/{udid}/{created.isoformat()}")),
        "Version": 1,
    }


def installed_profiles(phone: VirtualPhone) -> list[dict[str, Any]]:
    """The phone's profiles: ``phone.provisioning_profiles`` when a test set them, else the one that
    came with each developer-signed app (the WDA runner), created when the phone booted."""
    if phone.provisioning_profiles is not None:
        return phone.provisioning_profiles
    boot = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return [development_profile(bid, phone.udid, created=boot) for bid in phone.apps
            if bid.endswith(".xctrunner")]


def signed(phone: VirtualPhone, profile: dict[str, Any]) -> bytes:
    """The profile as a ``.mobileprovision`` file: its plist in a DER CMS SignedData."""
    body = plistlib.dumps(profile, fmt=plistlib.FMT_XML)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(body)
        .add_signer(phone.identity.cert, phone.identity.key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [])
    )


async def serve_misagent(phone: VirtualPhone, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
    while True:
        request = await read_plist(reader)
        if request is None:
            return
        kind = request.get("MessageType")
        if kind in ("CopyAll", "Copy") and request.get("ProfileType") == "Provisioning":
            payload = [signed(phone, p) for p in installed_profiles(phone)]
            writer.write(plist_frame({"Payload": payload, "Status": 0}))
        else:
            writer.write(plist_frame({"Status": REFUSED}))
        await writer.drain()


def misagent_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_misagent(phone, reader, writer)
