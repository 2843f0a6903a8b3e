"""mobile_image_mounter: reports whether the developer disk image is mounted (it never mounts one).

A lab phone that keeps WDA running has its developer disk image mounted ("Developer" before
iOS 17, "Personalized" from 17); ``phone.ddi_mounted`` says whether the virtual one has. Mounting
needs Apple-signed images and a TSS ticket, so ``MountImage`` is refused (inference: with the
error code a phone gives for a bad signature).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from harness.sim.lockdownd import plist_frame, read_plist
from harness.sim.phone import PortHandler, VirtualPhone


def image_type(phone: VirtualPhone) -> str:
    return "Personalized" if phone.ios_major >= 17 else "Developer"


def _mounted(phone: VirtualPhone) -> list[dict[str, Any]]:
    if not getattr(phone, "ddi_mounted", True):
        return []
    kind = image_type(phone)
    signature = hashlib.sha384(f"{phone.udid}:{kind}".encode()).digest()
    return [
        {
            "DiskImageType": kind,
            "IsMounted": True,
            "ImageSignature": signature,
            "MountPath": "/System/Developer" if kind == "Personalized" else "/Developer",
        }
    ]


async def serve_image_mounter(
    phone: VirtualPhone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        request = await read_plist(reader)
        if request is None:
            return
        command = request.get("Command")
        if command == "LookupImage":
            found = [m for m in _mounted(phone) if m["DiskImageType"] == request.get("ImageType")]
            reply: dict[str, Any] = {
                "ImageSignature": [m["ImageSignature"] for m in found],
                "Status": "Complete",
            }
        elif command == "CopyDevices":
            reply = {"EntryList": _mounted(phone), "Status": "Complete"}
        elif command == "QueryDeveloperModeStatus":
            reply = {"DeveloperModeStatus": bool(phone.developer_mode), "Status": "Complete"}
        elif command == "Hangup":
            writer.write(plist_frame({"Goodbye": True}))
            await writer.drain()
            return
        else:
            reply = {
                "Error": "ImageMountFailed",
                "DetailedError": f"{command} is not supported by the virtual phone",
            }
        writer.write(plist_frame(reply))
        await writer.drain()


def image_mounter_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_image_mounter(phone, reader, writer)
