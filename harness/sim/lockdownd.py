"""lockdownd of a virtual phone (device port 62078).

Framing: ``u32be length`` + XML plist. Every reply echoes ``Request``; errors travel as
``Error: <code>`` with lockdownd's own codes (InvalidHostID, PasswordProtected,
PairingDialogResponsePending, UserDeniedPairing, InvalidService, MissingValue, GetProhibited,
SessionInactive). ``StartSession`` switches the same stream to TLS right after its reply, the phone
as TLS server with a self-signed certificate (clients check nothing). ``StartService`` opens a
one-shot device port for the service.
"""

from __future__ import annotations

import asyncio
import os
import plistlib
import random
import ssl
import struct
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.sim import profiles, versions
from harness.sim.phone import PortHandler, VirtualPhone

LOCKDOWN_PORT = 62078
MAX_MESSAGE = 16 * 1024 * 1024


@dataclass(frozen=True)
class ServiceSpec:
    """A lockdown service: how to serve one connection of it, and whether it speaks TLS."""

    factory: Callable[[VirtualPhone], PortHandler]
    ssl: bool = True



def developer_services(ios_version: str) -> frozenset[str]:
    """Developer services need a mounted developer disk image (and on iOS 17+ an RSD tunnel); the
    virtual phone has neither, so lockdownd refuses them the way a real phone without a DDI does
    (the list is the phone profile's ``lockdownd.developer_services``)."""
    return profiles.load(versions.major(ios_version)).developer_services


async def read_plist(reader: asyncio.StreamReader, byteorder: str = ">") -> dict[str, Any] | None:
    """One length-prefixed plist, or None at end of stream."""
    try:
        head = await reader.readexactly(4)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    (size,) = struct.unpack(byteorder + "I", head)
    if size > MAX_MESSAGE:
        raise ConnectionError(f"plist of {size} bytes")
    body = await reader.readexactly(size)
    return plistlib.loads(body)


def plist_frame(body: dict[str, Any], byteorder: str = ">") -> bytes:
    data = plistlib.dumps(body)
    return struct.pack(byteorder + "I", len(data)) + data


_TLS_CONTEXTS: weakref.WeakKeyDictionary[VirtualPhone, ssl.SSLContext] = weakref.WeakKeyDictionary()


def server_ssl_context(phone: VirtualPhone) -> ssl.SSLContext:
    """The phone's TLS server context (made once per phone: loading the key is not free)."""
    ctx = _TLS_CONTEXTS.get(phone)
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_NONE
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(phone.identity.cert_pem + phone.identity.key_pem)
            ctx.load_cert_chain(path)
        finally:
            os.unlink(path)
        _TLS_CONTEXTS[phone] = ctx
    return ctx


def _zone_name(utc_offset_min: int) -> str:
    """A zone name for the offset (lockdownd reports an Olson name; a fixed-offset one stands in)."""
    if utc_offset_min == 0:
        return "UTC"
    sign = "+" if utc_offset_min > 0 else "-"
    hours, minutes = divmod(abs(utc_offset_min), 60)
    return f"GMT{sign}{hours:02d}:{minutes:02d}"


class Lockdownd:
    """Serves lockdownd on ``phone.device_ports[62078]``; one instance per phone."""

    def __init__(self, phone: VirtualPhone, services: dict[str, ServiceSpec]) -> None:
        self.phone = phone
        self.services = services
        self.extra_values: dict[tuple[str | None, str], Any] = {}
        phone.device_ports[LOCKDOWN_PORT] = self.handle

    # -- values ----------------------------------------------------------------------------------

    def _root_values(self, full: bool) -> dict[str, Any]:
        p = self.phone
        values: dict[str, Any] = {
            "BuildVersion": p.build,
            "DeviceClass": "iPhone",
            "DeviceColor": "1",
            "DeviceName": p.name,
            "DevicePublicKey": p.identity.public_key_pem,
            "HardwareModel": "D73AP",
            "ProductName": "iPhone OS",
            "ProductType": p.model,
            "ProductVersion": p.ios_version,
            "ProtocolVersion": "2",
            "TelephonyCapability": True,
            "UniqueChipID": p.ecid,
            "UniqueDeviceID": p.udid,
            "WiFiAddress": p.wifi_mac,
        }
        if full:
            values.update(
                {
                    "ActivationState": "Activated",
                    "BluetoothAddress": p.bluetooth_mac,
                    "CPUArchitecture": "arm64e",
                    "ChipID": p.udid and int(p.udid.split("-")[0], 16),
                    "FirmwareVersion": "iBoot-10151.120.3",
                    "HardwarePlatform": "t8120",
                    "ModelNumber": "MQ0G3",
                    "PasswordProtected": p.passcode_set,
                    "PhoneNumber": p.phone_number,
                    "RegionInfo": "LL/A",
                    "SerialNumber": p.serial_number,
                    "TimeIntervalSince1970": p.clock.phone_time_ns() / 1e9,
                    "TimeZone": _zone_name(p.clock.utc_offset_min),
                    "TimeZoneOffsetFromUTC": float(p.clock.utc_offset_min * 60),
                    "Uses24HourClock": True,
                    "HostAttached": True,
                    "TrustedHostAttached": True,
                }
            )
        return values

    def _domain_values(self, domain: str) -> dict[str, Any] | None:
        p = self.phone
        if domain == "com.apple.mobile.battery":
            return {
                "BatteryCurrentCapacity": int(p.battery_level),
                "BatteryIsCharging": bool(p.charging and p.battery_level < 100),
                "ExternalChargeCapable": True,
                "ExternalConnected": bool(p.charging),
                "FullyCharged": p.battery_level >= 100,
                "GasGaugeCapability": True,
                "HasBattery": True,
            }
        if domain == "com.apple.security.mac.amfi":
            return {"DeveloperModeStatus": bool(p.developer_mode)}
        if domain == "com.apple.international":
            return {"Language": "en", "Locale": "en_US", "Uses24HourClock": True}
        if domain == "com.apple.mobile.wireless_lockdown":
            return {"EnableWifiConnections": False}
        if domain == "com.apple.disk_usage":
            return {"TotalDiskCapacity": 128_000_000_000, "AmountDataAvailable": 64_000_000_000}
        if domain == "com.apple.PurpleBuddy":
            return {"SetupDone": True}
        if domain == "com.apple.mobile.iTunes":
            return {}
        if domain.startswith("com.apple."):
            return {}
        return None

    def get_value(self, domain: str | None, key: str | None, session: bool) -> Any:
        if domain:
            values = self._domain_values(domain)
            if values is None:
                return None
        else:
            values = self._root_values(full=session)
        values = dict(values)
        for (d, k), v in self.extra_values.items():
            if d == (domain or None):
                values[k] = v
        if key:
            return values.get(key)
        return values

    # -- connection ------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: dict[str, Any] = {"id": None, "host_id": None}
        while True:
            request = await read_plist(reader)
            if request is None:
                return
            name = str(request.get("Request", ""))
            reply = self._dispatch(name, request, session)
            reply.setdefault("Request", name)
            writer.write(plist_frame(reply))
            await writer.drain()
            if name == "StartSession" and "Error" not in reply and reply.get("EnableSessionSSL"):
                # The TLS handshake starts on the very next bytes; the reader holds nothing past
                # the request (the client waits for this reply before its ClientHello).
                await writer.start_tls(server_ssl_context(self.phone))

    def _dispatch(self, name: str, request: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
        p = self.phone
        in_session = session["id"] is not None
        if name == "QueryType":
            return {"Type": "com.apple.mobile.lockdown"}
        if name == "GetValue":
            domain, key = request.get("Domain"), request.get("Key")
            if domain and not in_session and domain not in ("com.apple.mobile.wireless_lockdown",):
                return {"Error": "GetProhibited"}
            value = self.get_value(domain, key, in_session)
            if value is None:
                return (
                    {"Error": "MissingValue", "Domain": domain, "Key": key}
                    if key or domain
                    else {"Error": "MissingValue"}
                )
            reply: dict[str, Any] = {"Value": value}
            if key:
                reply["Key"] = key
            if domain:
                reply["Domain"] = domain
            return reply
        if name == "SetValue":
            if not in_session:
                return {"Error": "SetProhibited"}
            domain, key, value = request.get("Domain"), request.get("Key"), request.get("Value")
            if not domain and key == "DeviceName":
                p.name = str(value)
            else:
                self.extra_values[(domain or None, str(key))] = value
            return {}
        if name == "RemoveValue":
            self.extra_values.pop((request.get("Domain") or None, str(request.get("Key"))), None)
            return {}
        if name == "StartSession":
            host_id = str(request.get("HostID", ""))
            if host_id not in p.paired_host_ids:
                return {"Error": "InvalidHostID"}
            session["id"] = str(uuid.uuid4()).upper()
            session["host_id"] = host_id
            return {"SessionID": session["id"], "EnableSessionSSL": True}
        if name == "StopSession":
            session["id"] = None
            return {"Result": "Success"}
        if name == "ValidatePair":
            record = request.get("PairRecord") or {}
            if record.get("HostID") not in p.paired_host_ids:
                return {"Error": "InvalidHostID"}
            return {}
        if name == "Pair":
            return self._pair(request)
        if name == "Unpair":
            record = request.get("PairRecord") or {}
            p.paired_host_ids.discard(str(record.get("HostID", "")))
            p.paired = bool(p.paired_host_ids)
            p.truth.emit("sim", "unpaired", udid=p.udid)
            return {}
        if name == "StartService":
            if not in_session:
                return {"Error": "SessionInactive"}
            return self._start_service(str(request.get("Service", "")))
        if name == "EnterRecovery":
            return {"Error": "NotEnoughPrivileges"}
        return {"Error": "InvalidRequest"}

    def _pair(self, request: dict[str, Any]) -> dict[str, Any]:
        p, faults = self.phone, self.phone.faults
        record = request.get("PairRecord") or {}
        host_id = record.get("HostID")
        if not host_id or not record.get("HostCertificate"):
            return {"Error": "InvalidPairRecord"}
        if p.passcode_locked:
            return {"Error": "PasswordProtected"}
        if faults.deny_pairing:
            return {"Error": "UserDeniedPairing"}
        if faults.trust_pending():
            return {"Error": "PairingDialogResponsePending"}
        p.paired_host_ids.add(str(host_id))
        p.paired = True
        p.truth.emit("sim", "paired", udid=p.udid, host_id=str(host_id))
        return {"EscrowBag": uuid.uuid4().bytes * 2}

    def _start_service(self, service: str) -> dict[str, Any]:
        p = self.phone
        spec = self.services.get(service)
        if spec is None or service in developer_services(p.ios_version) or p.faults.refuses(service):
            return {"Error": "InvalidService", "Service": service}
        if p.passcode_locked:
            return {"Error": "PasswordProtected", "Service": service}
        port = self._free_port()
        handler = spec.factory(p)

        async def one_shot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            p.device_ports.pop(port, None)  # a service port takes one connection
            if spec.ssl:
                await writer.start_tls(server_ssl_context(p))
            await handler(reader, writer)

        p.device_ports[port] = one_shot
        p.truth.emit(
            "sim", "service-started", udid=p.udid, service=service, port=port, t_ns=time.monotonic_ns()
        )
        return {"Service": service, "Port": port, "EnableServiceSSL": spec.ssl}

    def _free_port(self) -> int:
        while True:
            port = random.randint(49152, 65000)
            if port not in self.phone.device_ports:
                return port
