"""A virtual iPhone: identity, state, device ports and its log stream.

The phone itself speaks no protocol: usbmuxd hands it raw sockets per device port
(``device_ports``), lockdownd and the services read and change its state, and other parts of the
lab (WDA, the audio world, the voice app) register ports and write its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.byte_pump import pump
from harness.sim import profiles, versions
from harness.sim import variants as variants_mod
from harness.sim.clock import PhoneClock
from harness.sim.faults import Faults
from harness.sim.fs import VirtualFS
from harness.sim.log_filler import LogFiller
from harness.sim.pairing import DeviceIdentity
from harness.timeline import Timeline

PortHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

LEVELS = ("default", "info", "debug", "error", "fault")

# Build numbers per modelled version (ProductBuildVersion). Others get a made-up one.
BUILDS: dict[str, str] = {
    "16.7.10": "20H350",
    "17.5.1": "21F90",
    "17.5": "21F79",
    "18.2": "22C152",
    "18.2.1": "22C161",
    "26.1": "23B85",
    "27.0": "24A5260a",  # 27.0: (inference) a plausible beta build string
}

# ProductType -> (chip id for the UDID, marketing name)
MODELS: dict[str, tuple[int, str]] = {
    "iPhone15,2": (0x8120, "iPhone 14 Pro"),
    "iPhone15,4": (0x8120, "iPhone 15"),
    "iPhone16,1": (0x8130, "iPhone 15 Pro"),
    "iPhone17,3": (0x8140, "iPhone 16"),
    "iPhone14,5": (0x8110, "iPhone 13"),
}

WDA_BUNDLE_ID = "com.facebook.WebDriverAgentRunner.xctrunner"


def build_for(version: str) -> str:
    if version in BUILDS:
        return BUILDS[version]
    parts = versions.parse(version)
    return f"{parts[0] + 4}{chr(ord('A') + (parts[1] if len(parts) > 1 else 0) % 26)}{100 + sum(parts)}"


def app_info(
    bundle_id: str,
    name: str,
    version: str = "1.0",
    build: str = "1",
    *,
    system: bool = False,
    executable: str | None = None,
) -> dict[str, Any]:
    """An installation_proxy app record (the keys pymobiledevice3 and the harness read)."""
    executable = executable or name.replace(" ", "")
    if system:
        path = f"/Applications/{executable}.app"
        container = "/private/var/mobile"
    else:
        path = f"/private/var/containers/Bundle/Application/{uuid.uuid4()}/{executable}.app"
        container = f"/private/var/mobile/Containers/Data/Application/{uuid.uuid4()}"
    return {
        "CFBundleIdentifier": bundle_id,
        "CFBundleName": name,
        "CFBundleDisplayName": name,
        "CFBundleExecutable": executable,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": build,
        "ApplicationType": "System" if system else "User",
        "Path": path,
        "Container": container,
        "IsAppClip": False,
        "UIRequiredDeviceCapabilities": ["arm64"],
    }


def default_apps() -> dict[str, dict[str, Any]]:
    apps = [
        app_info("com.apple.mobilephone", "Phone", "1.0", "1", system=True, executable="MobilePhone"),
        app_info("com.apple.facetime", "FaceTime", "1.0", "1", system=True, executable="FaceTime"),
        app_info("com.apple.mobiletimer", "Clock", "1.0", "1", system=True, executable="MobileTimer"),
        app_info("com.apple.Preferences", "Settings", "1.0", "1", system=True, executable="Preferences"),
        app_info(
            WDA_BUNDLE_ID, "WebDriverAgentRunner-Runner", "1.0", "1", executable="WebDriverAgentRunner-Runner"
        ),
    ]
    return {a["CFBundleIdentifier"]: a for a in apps}


@dataclass(frozen=True)
class Process:
    pid: int
    name: str
    path: str


@dataclass(frozen=True)
class LogRecord:
    """One os_log entry as the phone's logd saw it."""

    t_mono_ns: int
    process: Process
    message: str
    subsystem: str = ""
    category: str = ""
    level: str = "default"
    thread_id: int = 0
    image: str = ""
    """The sender image (a framework or the executable); defaults to the process's executable."""


# Processes every phone runs, with their real executable paths.
SYSTEM_PROCESSES: dict[str, str] = {
    "kernel": "/kernel",
    "launchd": "/sbin/launchd",
    "SpringBoard": "/System/Library/CoreServices/SpringBoard.app/SpringBoard",
    "mediaserverd": "/usr/sbin/mediaserverd",
    "audiomxd": "/usr/libexec/audiomxd",
    "callservicesd": "/System/Library/PrivateFrameworks/TelephonyUtilities.framework/callservicesd",
    "bluetoothd": "/usr/sbin/bluetoothd",
    "assistantd": "/System/Library/PrivateFrameworks/AssistantServices.framework/assistantd",
    "lockdownd": "/usr/libexec/lockdownd",
    "osanalyticshelper": "/usr/libexec/osanalyticshelper",
    "installd": "/usr/libexec/installd",
}


class VirtualPhone:
    """One virtual iPhone. Create through :class:`harness.sim.lab.VirtualLab` (or directly in unit tests).

    Thread note: the phone lives on the lab's event loop. :meth:`log` may be called from any thread;
    everything else must run on the loop.
    """

    @staticmethod
    def stable_identity(name: str, model: str, index: int) -> tuple[int, str]:
        """(ECID, UDID) of the phone in slot ``index``: stable across runs for the same name and slot,
        so a lab.yaml (or a --device UDID) stays valid after a restart."""
        chip = MODELS.get(model, (0x8120, model))[0]
        ecid = 0x001A000000000000 | int(hashlib.sha1(f"{index}:{name}".encode()).hexdigest()[:12], 16)
        return ecid, f"{chip:08X}-{ecid:016X}"

    def __init__(
        self,
        *,
        udid: str | None = None,
        name: str = "iPhone",
        model: str = "iPhone15,2",
        ios_version: str = "17.5.1",
        role: str = "dut",
        phone_number: str = "+15550100001",
        apple_id: str = "dut@example.com",
        battery_level: int = 87,
        charging: bool = True,
        clock: PhoneClock | None = None,
        developer_mode: bool = True,
        passcode_set: bool = False,
        paired: bool = True,
        apps: dict[str, dict[str, Any]] | None = None,
        index: int = 0,
        state_dir: str | Path | None = None,
        identity: DeviceIdentity | None = None,
        variants: Mapping[str, str] | None = None,
        profile: profiles.Profile | None = None,
    ) -> None:
        self._profile = profile
        """A profile of its own (``harness sim up --phone-profile``: a surveyed phone's), else None:
        the shipped profile of its iOS major."""
        self.ecid, stable = self.stable_identity(name, model, index)
        self.udid = udid or stable
        self.name = name
        self.model = model
        self.ios_version = versions.full_version(ios_version)
        self.build = build_for(self.ios_version)
        self.role = role
        self.phone_number = phone_number
        self.apple_id = apple_id
        self.battery_level = battery_level
        self.charging = charging
        self.clock = clock or PhoneClock()
        self.developer_mode = developer_mode
        self.ddi_mounted = True
        """The developer disk image is mounted (as on a lab phone that keeps WDA running)."""
        self.variants: dict[str, str] = variants_mod.resolve(dict(variants or {}), self.profile.defaults)
        """Every variant's value on this phone (``harness.sim.variants``): the chosen ones, else the
        profile's or the table's defaults."""
        self.passcode_set = passcode_set or self.variants["passcode"] == "on"
        self.log_activity: set[str] = set()
        """What the phone is busy with ("call", "siri"), set by the scene: the log bursts then."""
        self.locked = False
        self.paired = paired
        self.paired_host_ids: set[str] = set()
        self.apps = apps if apps is not None else default_apps()
        self.provisioning_profiles: list[dict[str, Any]] | None = None
        """The profiles misagent lists (plists); None: the one of each developer-signed app."""
        self.serial_number = f"F{index:02d}{self.ecid & 0xFFFFFFF:07X}"[:12]
        mac = (index & 0xFF, (self.ecid >> 8) & 0xFF, self.ecid & 0xFF)
        self.wifi_mac = "f0:18:98:{:02x}:{:02x}:{:02x}".format(*mac)
        self.bluetooth_mac = f"f0:18:98:{mac[0]:02x}:{mac[1]:02x}:{(mac[2] + 1) & 0xFF:02x}"
        self.identity = identity or DeviceIdentity()
        self.faults = Faults()
        self.attached = True
        self.device_ports: dict[int, PortHandler] = {}
        self.connect_counts: Counter[int] = Counter()
        self.wda_url: str | None = None
        self.media = VirtualFS(("/PublicStaging", "/Downloads", "/DCIM"))
        self.crash_fs = VirtualFS(("/Retired", "/Panics"))
        self.boot_mono_ns = time.monotonic_ns() - 3600 * 10**9  # booted an hour before the lab started
        self.state_dir = Path(state_dir) if state_dir is not None else None
        truth_path = self.state_dir / "truth" / f"{self.udid}.jsonl" if self.state_dir is not None else None
        self.truth = Timeline(truth_path)
        """Ground truth: what really happened on this phone (lab clock)."""
        self.log_history: deque[LogRecord] = deque(maxlen=10_000)
        self.log_filler = LogFiller()
        """Synthetic filler lines for the os_trace relay (the log-volume knob; harness.sim.log_filler)."""
        self._log_listeners: list[Callable[[LogRecord], None]] = []
        self._pids = itertools.count(200)
        self.processes: dict[str, Process] = {}
        for n, (pname, path) in enumerate(SYSTEM_PROCESSES.items()):
            self.processes[pname] = Process(
                n if pname == "kernel" else 1 if pname == "launchd" else 40 + n * 7, pname, path
            )
        self._connections: set[asyncio.StreamWriter] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # -- identity --------------------------------------------------------------------------------

    @property
    def ios_major(self) -> int:
        return versions.major(self.ios_version)

    @property
    def profile(self) -> profiles.Profile:
        """What this phone shows and logs: its own profile when it was given one, else its iOS
        major's (``harness/sim/profiles``)."""
        return self._profile if self._profile is not None else profiles.load(self.ios_major)

    def log_rate(self) -> int:
        """Filler lines per second the phone's unified log should stream now: the ``log_volume``
        variant's rate for the busiest activity (idle, a call, Siri) of the profile's table. The os_trace
        relay's filler knob reads this (RIP H6: a real phone streams hundreds to thousands a second)."""
        rates = self.profile.log_volume[self.variants["log_volume"]]
        return max([rates["idle"], *(rates[a] for a in self.log_activity if a in rates)])

    @property
    def passcode_locked(self) -> bool:
        """Locked behind a passcode: the fault, or the phone's own lock with a passcode set."""
        return self.faults.passcode_locked or (self.locked and self.passcode_set)

    @property
    def marketing_name(self) -> str:
        return MODELS.get(self.model, (0, self.model))[1]

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._loop_thread = threading.get_ident()

    # -- processes and the log -------------------------------------------------------------------

    def process(self, name: str, path: str | None = None, pid: int | None = None) -> Process:
        """The running process ``name`` (started on first use), e.g. an app's executable."""
        proc = self.processes.get(name)
        if proc is not None and (pid is None or proc.pid == pid) and (path is None or proc.path == path):
            return proc
        if path is None:
            app = next(
                (
                    a
                    for a in self.apps.values()
                    if a.get("CFBundleExecutable") == name or a["CFBundleIdentifier"] == name
                ),
                None,
            )
            path = f"{app['Path']}/{app['CFBundleExecutable']}" if app else f"/usr/libexec/{name}"
        proc = Process(pid if pid is not None else next(self._pids), name, path)
        self.processes[name] = proc
        return proc

    def log(
        self,
        process: str,
        message: str,
        *,
        subsystem: str = "",
        category: str = "",
        level: str = "default",
        pid: int | None = None,
        t_ns: int | None = None,
        image: str | None = None,
    ) -> LogRecord:
        """Write one os_log entry. ``t_ns`` (lab monotonic clock) defaults to now.

        Fanned out to live os_trace_relay and syslog_relay streams; the record carries the lab time,
        the services stamp it with the phone's own clock when they send it.
        """
        if level not in LEVELS:
            raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
        t = time.monotonic_ns() if t_ns is None else int(t_ns)
        proc = self.process(process, pid=pid)
        record = LogRecord(
            t,
            proc,
            message,
            subsystem,
            category,
            level,
            thread_id=proc.pid * 1000 + 1,
            image=image or proc.path,
        )
        if self.loop is not None and threading.get_ident() != self._loop_thread:
            with contextlib.suppress(RuntimeError):  # the lab is shutting down
                self.loop.call_soon_threadsafe(self._fan_out, record)
        else:
            self._fan_out(record)
        return record

    def _fan_out(self, record: LogRecord) -> None:
        self.log_history.append(record)
        for listener in list(self._log_listeners):
            listener(record)

    @property
    def log_listener_count(self) -> int:
        """Live log relays listening now (a test waits for its relay before logging what it must see)."""
        return len(self._log_listeners)

    def add_log_listener(self, listener: Callable[[LogRecord], None]) -> Callable[[], None]:
        self._log_listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._log_listeners.remove(listener)

        return remove

    def mach_ticks(self, mono_ns: int) -> int:
        """mach_absolute_time() at lab time ``mono_ns``: 24 MHz ticks since boot, on the phone's crystal."""
        elapsed = (mono_ns - self.boot_mono_ns) * (1 + self.clock.drift_ppm * 1e-6)
        return int(elapsed * 24 / 1000)

    # -- crash reports ---------------------------------------------------------------------------

    def add_crash_report(
        self, process: str, *, bug_type: str = "309", reason: str = "EXC_CRASH (SIGABRT)"
    ) -> str:
        """Write a crash report (.ips) as ReportCrash does, log osanalyticshelper's line; return its path."""
        now_local = self.clock.local_datetime()
        stamp = now_local.strftime("%Y-%m-%d-%H%M%S")
        name = f"/{process}-{stamp}.ips"
        proc = self.process(process)
        tz = self.clock.utc_offset_min
        ts = (
            now_local.strftime("%Y-%m-%d %H:%M:%S.00 ")
            + f"{'+' if tz >= 0 else '-'}{abs(tz) // 60:02d}{abs(tz) % 60:02d}"
        )
        header = {
            "app_name": process,
            "timestamp": ts,
            "app_version": "",
            "slice_uuid": str(uuid.uuid4()),
            "build_version": "",
            "platform": 2,
            "bundleID": "",
            "share_with_app_devs": 0,
            "is_first_party": 0,
            "bug_type": bug_type,
            "os_version": f"iPhone OS {self.ios_version} ({self.build})",
            "incident_id": str(uuid.uuid4()).upper(),
            "name": process,
        }
        body = {
            "uptime": 3600,
            "procRole": "Foreground",
            "version": 2,
            "userID": 501,
            "deployVersion": 210,
            "modelCode": self.model,
            "coalitionID": 1,
            "osVersion": {
                "train": f"iPhone OS {self.ios_version}",
                "build": self.build,
                "releaseType": "User",
            },
            "captureTime": ts,
            "incident": header["incident_id"],
            "pid": proc.pid,
            "cpuType": "ARM-64",
            "procName": process,
            "procPath": proc.path,
            "parentProc": "launchd",
            "parentPid": 1,
            "exception": {"type": reason.split(" ")[0], "signal": "SIGABRT"},
            "termination": {"namespace": "SIGNAL", "code": 6, "indicator": "Abort trap: 6"},
            "threads": [],
            "usedImages": [],
        }
        content = (json.dumps(header) + "\n" + json.dumps(body, indent=2)).encode()
        self.crash_fs.write(name, content)
        self.truth.emit("sim", "crash-report", udid=self.udid, process=process, path=name)
        self.log(
            "osanalyticshelper",
            f"Saved type '{bug_type}(<private>)' report (2 of max 25) at "
            f"/private/var/mobile/Library/Logs/CrashReporter{name}",
            subsystem="com.apple.osanalytics",
            category="default",
            image="/System/Library/PrivateFrameworks/OSAnalytics.framework/OSAnalytics",
        )
        return name

    # -- connections (usbmuxd hands them over) ---------------------------------------------------

    async def serve_port(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run the handler of device port ``port`` on a connected socket; closes it afterwards."""
        handler = self.device_ports[port]
        self._connections.add(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def drop_connections(self) -> None:
        """The cable was pulled: every open device connection dies at once."""
        for writer in list(self._connections):
            transport = writer.transport
            if transport is not None:
                transport.abort()
        self._connections.clear()

    def summary(self) -> dict[str, Any]:
        return {
            "udid": self.udid,
            "name": self.name,
            "model": self.model,
            "ios": self.ios_version,
            "build": self.build,
            "role": self.role,
            "phone_number": self.phone_number,
            "apple_id": self.apple_id,
            "battery_level": self.battery_level,
            "charging": self.charging,
            "developer_mode": self.developer_mode,
            "ddi_mounted": self.ddi_mounted,
            "passcode_set": self.passcode_set,
            "locked": self.locked,
            "paired": self.paired,
            "attached": self.attached,
            "wda_url": self.wda_url,
            "connect_counts": {str(k): v for k, v in sorted(self.connect_counts.items())},
            "faults": self.faults.to_dict(),
            "clock": {
                "offset_s": self.clock.offset_s,
                "drift_ppm": self.clock.drift_ppm,
                "utc_offset_min": self.clock.utc_offset_min,
            },
            "apps": {
                k: {
                    "CFBundleShortVersionString": v.get("CFBundleShortVersionString"),
                    "CFBundleVersion": v.get("CFBundleVersion"),
                }
                for k, v in self.apps.items()
            },
        }


def pipe_to(host: str, port: int) -> PortHandler:
    """A device-port handler that pipes the raw socket to a loopback TCP server (e.g. the virtual WDA)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            return  # the device side refuses: the client sees the connection close

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            up_writer.close()

    return handler
