"""The harness's layer over pymobiledevice3 (asyncio), the same for real and virtual iPhones.

Entry points: :func:`use_usbmuxd` (once per process), :func:`list_devices`, :func:`wait_for_device`,
:class:`DeviceWatcher`, and :class:`Device` for everything on one phone (info, apps, log stream
onto the timeline with the phone's clock mapped, crash reports, screenshots, port forwarding,
WDA). Failures are :class:`DeviceFault` (a :class:`harness.errors.LabFault` with a tag).
"""

from harness.device.apps import AppInfo
from harness.device.clock_sync import ClockModel, ClockTracker
from harness.device.device import Device
from harness.device.errors import DeviceFault
from harness.device.forward import PortForward
from harness.device.info import DeviceInfo
from harness.device.lockdown import Timeouts
from harness.device.os_trace import DeviceLogStream, LogFilter, dut_log_filter
from harness.device.usbmux import (
    Attached,
    DeviceEvent,
    DeviceWatcher,
    list_devices,
    usbmuxd_address,
    use_usbmuxd,
    wait_for_detach,
    wait_for_device,
)
from harness.device.wda_keeper import WdaKeeper

__all__ = [
    "AppInfo",
    "Attached",
    "ClockModel",
    "ClockTracker",
    "Device",
    "DeviceEvent",
    "DeviceFault",
    "DeviceInfo",
    "DeviceLogStream",
    "DeviceWatcher",
    "LogFilter",
    "PortForward",
    "Timeouts",
    "WdaKeeper",
    "dut_log_filter",
    "list_devices",
    "usbmuxd_address",
    "use_usbmuxd",
    "wait_for_detach",
    "wait_for_device",
]
