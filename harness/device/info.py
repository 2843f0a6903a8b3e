"""What a phone says about itself over lockdown: identity, iOS, battery, Developer Mode, passcode."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

from harness.device.errors import device_errors

BATTERY_DOMAIN = "com.apple.mobile.battery"


@dataclass(frozen=True)
class DeviceInfo:
    udid: str
    name: str
    product_type: str
    """Apple's model identifier ("iPhone15,2")."""
    model: str
    """Marketing name ("iPhone 14 Pro"), or the product type when unknown."""
    ios: str
    build: str
    paired: bool
    battery_level: int | None = None
    """Percent; None when the phone does not say (not paired: the battery domain needs a session)."""
    charging: bool | None = None
    developer_mode: bool | None = None
    """None before iOS 16 (no such setting) or when it cannot be read."""
    passcode_set: bool | None = None
    connection_type: str = "USB"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def marketing_name(product_type: str) -> str:
    from pymobiledevice3.irecv_devices import IRECV_DEVICES

    for d in IRECV_DEVICES:
        if d.product_type == product_type:
            return d.display_name
    return product_type


async def read_info(lockdown: Any, udid: str, *, timeout: float = 10.0) -> DeviceInfo:
    """Identity from the values lockdownd gave at connect; battery, Developer Mode and passcode read now.

    Values an unpaired phone withholds are None rather than guessed.
    """
    from pymobiledevice3.exceptions import LockdownError

    values = dict(lockdown.all_values or {})
    product_type = str(values.get("ProductType") or lockdown.product_type or "")
    info: dict[str, Any] = {
        "udid": str(values.get("UniqueDeviceID") or udid),
        "name": str(values.get("DeviceName", "")),
        "product_type": product_type,
        "model": marketing_name(product_type) if product_type else "",
        "ios": str(values.get("ProductVersion", "")),
        "build": str(values.get("BuildVersion", "")),
        "paired": bool(lockdown.paired),
    }
    if "PasswordProtected" in values:
        info["passcode_set"] = bool(values["PasswordProtected"])
    conn = getattr(getattr(lockdown, "service", None), "mux_device", None)
    if conn is not None:
        info["connection_type"] = conn.connection_type
    if lockdown.paired:
        async with device_errors("read battery and Developer Mode", udid, timeout):
            with contextlib.suppress(LockdownError):
                battery = await lockdown.get_value(domain=BATTERY_DOMAIN) or {}
                if "BatteryCurrentCapacity" in battery:
                    info["battery_level"] = int(battery["BatteryCurrentCapacity"])
                if "BatteryIsCharging" in battery:
                    info["charging"] = bool(battery["BatteryIsCharging"])
            if lockdown.has_developer_mode:
                with contextlib.suppress(LockdownError):
                    info["developer_mode"] = await lockdown.get_developer_mode_status()
    return DeviceInfo(**info)
