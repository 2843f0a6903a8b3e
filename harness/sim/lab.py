"""The virtual lab process: phones, usbmuxd, lockdownd and services, and the control API.

Use :meth:`VirtualLab.running` in tests (``async with VirtualLab.running(config) as lab``) or
``harness sim up`` to run one in the foreground. Later parts extend a lab through
``lab.control.add_route(...)`` and ``lab.on_phone_added(callback)``; a callback gets the phone
(and may be a coroutine function) and runs before the phone is plugged in.

Extensions: at start the lab imports each module named in ``LabConfig.extensions`` (default
:data:`DEFAULT_EXTENSIONS`) that exists and calls its ``install_lab(lab)`` (sync or async), before
any phone is added. That is how the virtual WDA, SpringBoard and the audio world join a lab that
``harness sim up`` starts, without this module importing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import plistlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from harness.errors import UsageError
from harness.sim import profiles, versions
from harness.sim.clock import PhoneClock
from harness.sim.control import ControlAPI, json_body
from harness.sim.faults import Faults
from harness.sim.lockdownd import Lockdownd, ServiceSpec
from harness.sim.pairing import HostIdentity
from harness.sim.phone import LEVELS, VirtualPhone, pipe_to
from harness.sim.services import default_services
from harness.sim.usbmuxd import Usbmuxd
from harness.sim.wda_stub import start_wda_stub

WDA_PORT = 8100


class _QuietTlsEof(logging.Filter):
    """asyncio warns on every TLS stream a client closes first (StreamReaderProtocol returns True
    from eof_received, which TLS ignores); harmless here and it would flood the lab's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_QuietTlsEof())
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    "harness.sim.wda",
    "harness.sim.springboard",
    "harness.sim.avfaudio",
    "harness.sim.scene",
)
_MAX_UNIX_PATH = 100  # sun_path holds 108 bytes; keep a margin
PhoneCallback = Callable[[VirtualPhone], Awaitable[None] | None]


@dataclass
class PhoneSpec:
    name: str
    ios: str = "17.5.1"
    role: str = "dut"
    model: str = "iPhone15,2"
    phone_number: str = "+15550100001"
    apple_id: str = "dut@example.com"
    udid: str | None = None
    battery_level: int = 87
    charging: bool = True
    developer_mode: bool = True
    paired: bool = True
    passcode_set: bool = False
    apps: dict[str, dict[str, Any]] | None = None
    """installation_proxy records by bundle id (default: system apps and the WDA runner)."""
    clock_offset_s: float = 0.0
    clock_drift_ppm: float = 0.0
    utc_offset_min: int = 0


@dataclass
class LabConfig:
    phones: list[PhoneSpec] = field(default_factory=list)
    state_dir: Path | None = None
    usbmuxd_address: str | None = None
    """A UNIX socket path or HOST:PORT; default ``<state_dir>/usbmuxd.sock``."""
    system_socket: bool = False
    """Also listen on /var/run/usbmuxd when it is free (for facebook-wda's USBClient)."""
    control_host: str = "127.0.0.1"
    control_port: int = 0
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    """Modules whose ``install_lab(lab)`` runs at start (missing modules are skipped)."""
    app_defect: str | None = None
    """A playbook defect switched on in every phone's voice app (``harness.sim.voiceapp``)."""
    app_logging: bool = True
    """Whether the voice app writes HARNESS-EVENT lines to os_trace (a real app may not)."""
    variants: dict[str, str] = field(default_factory=dict)
    """Variant values chosen for every phone (``harness.sim.variants``; the rest take defaults)."""
    phone_profile: str | None = None
    """A profile file every phone shows and logs instead of its iOS major's shipped one (``harness sim
    up --phone-profile``: a surveyed real phone's ``profile.yaml``); its ``defaults`` are the
    surveyed phone's variant values."""

    @classmethod
    def default(cls, phones: int = 2, ios_versions: list[str] | None = None, duts: int = 1,
                **kw: Any) -> LabConfig:
        """``phones`` phones: the first ``duts`` DUTs, the others callers; iOS versions cycled from the
        list."""
        if phones < 1:
            raise UsageError(f"--phones must be at least 1 (got {phones})")
        if not 1 <= duts <= phones:
            raise UsageError(f"--duts must be between 1 and --phones ({phones}); got {duts}")
        cycle = ios_versions or ["17.5.1"]
        specs = []
        for i in range(phones):
            version = cycle[i % len(cycle)]
            try:
                major = versions.major(version)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            if major not in versions.modelled():
                raise UsageError(
                    f"iOS {version} is not modelled; choose from {', '.join(map(str, versions.modelled()))}"
                )
            role = "dut" if i < duts else "caller"
            specs.append(
                PhoneSpec(
                    name=f"Virtual iPhone {chr(ord('A') + i % 26)}{'' if i < 26 else i // 26}",
                    ios=versions.full_version(version),
                    role=role,
                    model=("iPhone15,2", "iPhone16,1", "iPhone14,5")[i % 3],
                    phone_number=f"+1555010{i + 1:04d}",
                    apple_id=f"{role}{i + 1}@example.com",
                )
            )
        return cls(phones=specs, **kw)


class VirtualLab:
    def __init__(self, config: LabConfig | None = None) -> None:
        self.config = config or LabConfig.default()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._sock_dir: tempfile.TemporaryDirectory[str] | None = None
        if self.config.state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="harness-lab-")
            self.config.state_dir = Path(self._tmp.name)
        self.state_dir = Path(self.config.state_dir)
        self.phones: dict[str, VirtualPhone] = {}
        self.services: dict[str, ServiceSpec] = default_services()
        self.control = ControlAPI(self.config.control_host, self.config.control_port)
        self.usbmuxd = Usbmuxd(self.config.usbmuxd_address or self._default_socket())
        self.host = HostIdentity(system_buid=self.usbmuxd.buid)
        self._callbacks: list[PhoneCallback] = []
        self._wda_stubs: list[web.AppRunner] = []
        self.stopped = asyncio.Event()
        self._started = False
        self.extensions: list[str] = []
        """The extensions installed at start."""
        self._pending: set[asyncio.Future[Any]] = set()

    # -- public API ------------------------------------------------------------------------------

    @property
    def usbmuxd_address(self) -> str:
        return self.usbmuxd.address

    @property
    def control_url(self) -> str:
        return self.control.url

    def on_phone_added(self, callback: PhoneCallback) -> None:
        """Run ``callback(phone)`` for every phone, the ones already there included."""
        self._callbacks.append(callback)
        if self._started:
            for phone in self.phones.values():
                result = callback(phone)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    def phone(self, key: str) -> VirtualPhone:
        """A phone by UDID or name; KeyError naming the key otherwise."""
        if key in self.phones:
            return self.phones[key]
        for phone in self.phones.values():
            if phone.name == key:
                return phone
        raise KeyError(f"phone {key!r}")

    def _default_socket(self) -> str:
        path = str(self.state_dir.resolve() / "usbmuxd.sock")
        if len(path.encode()) <= _MAX_UNIX_PATH:
            return path
        # A deep state dir (pytest's tmp_path) would overflow sun_path: use a short private dir.
        self._sock_dir = tempfile.TemporaryDirectory(prefix="hlab-")
        return str(Path(self._sock_dir.name) / "usbmuxd.sock")

    async def _install_extensions(self) -> None:
        import importlib

        for name in self.config.extensions:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name is not None and name.startswith(exc.name):
                    continue  # that part is not built (yet)
                raise
            install = getattr(module, "install_lab", None)
            if install is None:
                continue
            result = install(self)
            if inspect.isawaitable(result):
                await result
            self.extensions.append(name)

    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        await self.usbmuxd.start(also_system_socket=self.config.system_socket)
        self._add_routes()
        await self.control.start()
        self._started = True
        await self._install_extensions()
        for spec in self.config.phones:
            await self.add_phone(spec)

    async def stop(self) -> None:
        self._started = False
        for phone in self.phones.values():
            phone.drop_connections()
        await self.usbmuxd.stop()
        await self.control.stop()
        for runner in self._wda_stubs:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        self._wda_stubs.clear()
        for phone in self.phones.values():
            phone.truth.close()
        self.stopped.set()
        for tmp in (self._tmp, self._sock_dir):
            if tmp is not None:
                tmp.cleanup()
        self._tmp = self._sock_dir = None

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, config: LabConfig | None = None) -> AsyncIterator[VirtualLab]:
        lab = cls(config)
        await lab.start()
        try:
            yield lab
        finally:
            await lab.stop()

    @functools.cached_property
    def phone_profile(self) -> profiles.Profile | None:
        """The profile file of ``config.phone_profile``, loaded once (ProfileError naming the file)."""
        return profiles.load_file(self.config.phone_profile) if self.config.phone_profile else None

    async def add_phone(self, spec: PhoneSpec) -> VirtualPhone:
        index = len(self.phones)
        clock = PhoneClock(spec.clock_offset_s, spec.clock_drift_ppm, spec.utc_offset_min)
        phone = VirtualPhone(
            udid=spec.udid,
            name=spec.name,
            model=spec.model,
            ios_version=spec.ios,
            role=spec.role,
            phone_number=spec.phone_number,
            apple_id=spec.apple_id,
            battery_level=spec.battery_level,
            charging=spec.charging,
            clock=clock,
            developer_mode=spec.developer_mode,
            paired=spec.paired,
            passcode_set=spec.passcode_set,
            apps=dict(spec.apps) if spec.apps is not None else None,
            index=index,
            state_dir=self.state_dir,
            variants=self.config.variants,
            profile=self.phone_profile,
        )
        phone.bind_loop(asyncio.get_running_loop())
        Lockdownd(phone, self.services)
        if spec.paired:
            # The lab host paired this phone earlier: usbmuxd holds the record, the phone knows the host.
            record = self.host.pair_record(phone.identity, phone.wifi_mac)
            phone.paired_host_ids.add(self.host.host_id)
            self.usbmuxd.pair_records[phone.udid] = plistlib.dumps(record)
        runner, port = await start_wda_stub(phone)
        self._wda_stubs.append(runner)
        phone.device_ports[WDA_PORT] = pipe_to("127.0.0.1", port)
        phone.wda_url = f"http://127.0.0.1:{port}"
        self.phones[phone.udid] = phone
        for callback in self._callbacks:
            result = callback(phone)
            if inspect.isawaitable(result):
                await result
        self.usbmuxd.attach(phone)
        return phone

    def attach(self, key: str) -> None:
        self.usbmuxd.attach(self.phone(key))

    def detach(self, key: str) -> None:
        self.usbmuxd.detach(self.phone(key))

    def summary(self) -> dict[str, Any]:
        return {
            "usbmuxd_address": self.usbmuxd_address,
            "control_url": self.control_url,
            "system_socket": self.usbmuxd.system_socket,
            "extensions": self.extensions,
            "phones": [p.summary() for p in self.phones.values()],
        }

    # -- control API -----------------------------------------------------------------------------

    def _add_routes(self) -> None:
        add = self.control.add_route
        add("GET", "/lab", self._get_lab)
        add("GET", "/phones", self._get_phones)
        add("GET", "/phones/{udid}", self._get_phone)
        add("PATCH", "/phones/{udid}", self._patch_phone)
        add("POST", "/phones/{udid}/attach", self._attach)
        add("POST", "/phones/{udid}/detach", self._detach)
        add("GET", "/phones/{udid}/faults", self._get_faults)
        add("POST", "/phones/{udid}/faults", self._set_faults)
        add("DELETE", "/phones/{udid}/faults", self._clear_faults)
        add("POST", "/phones/{udid}/log", self._post_log)
        add("GET", "/phones/{udid}/log/filler", self._get_filler)
        add("POST", "/phones/{udid}/log/filler", self._set_filler)
        add("GET", "/phones/{udid}/log", self._get_log)
        add("POST", "/phones/{udid}/crash", self._post_crash)
        add("GET", "/phones/{udid}/connects", self._get_connects)
        add("DELETE", "/phones/{udid}/connects", self._reset_connects)
        add("POST", "/stop", self._stop)

    async def _get_lab(self, request: web.Request) -> web.Response:
        return web.json_response(self.summary())

    async def _get_phones(self, request: web.Request) -> web.Response:
        return web.json_response([p.summary() for p in self.phones.values()])

    async def _get_phone(self, request: web.Request) -> web.Response:
        return web.json_response(self.phone(request.match_info["udid"]).summary())

    async def _patch_phone(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        body = await json_body(request)
        settable = {
            "name": str,
            "battery_level": int,
            "charging": bool,
            "developer_mode": bool,
            "passcode_set": bool,
            "locked": bool,
            "ddi_mounted": bool,
        }
        for key, value in body.items():
            if key not in settable:
                raise UsageError(f"{key!r} cannot be set; settable: {', '.join(settable)}")
            setattr(phone, key, settable[key](value))
            phone.truth.emit("sim", "phone-changed", udid=phone.udid, key=key, value=value)
        return web.json_response(phone.summary())

    async def _attach(self, request: web.Request) -> web.Response:
        self.attach(request.match_info["udid"])
        return web.json_response({"attached": True})

    async def _detach(self, request: web.Request) -> web.Response:
        """Pull the cable; with ``{"reattach_after_s": N}`` plug it back in N s later (a USB glitch)."""
        phone = self.phone(request.match_info["udid"])
        body = await json_body(request)
        self.detach(phone.udid)
        after = body.get("reattach_after_s")
        if after is not None:
            if not isinstance(after, (int, float)) or after < 0:
                raise UsageError(f"reattach_after_s must be a number of seconds >= 0 (got {after!r})")
            asyncio.get_running_loop().call_later(float(after), self._reattach, phone)
        return web.json_response({"attached": False, "reattach_after_s": after})

    def _reattach(self, phone: VirtualPhone) -> None:
        if self._started and phone.udid in self.phones:
            self.usbmuxd.attach(phone)

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.phone(request.match_info["udid"]).faults.to_dict())

    async def _set_faults(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        body = await json_body(request)
        phone.faults.update(body)
        phone.truth.emit("sim", "faults", udid=phone.udid, **phone.faults.to_dict())
        return web.json_response(phone.faults.to_dict())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        phone.faults = Faults()
        phone.truth.emit("sim", "faults", udid=phone.udid, **phone.faults.to_dict())
        return web.json_response(phone.faults.to_dict())

    async def _post_log(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        body = await json_body(request)
        if not isinstance(body.get("process"), str) or not isinstance(body.get("message"), str):
            raise UsageError("a log record needs 'process' and 'message' strings")
        level = body.get("level", "default")
        if level not in LEVELS:
            raise UsageError(f"level {level!r} is not one of {', '.join(LEVELS)}")
        record = phone.log(
            body["process"],
            body["message"],
            subsystem=str(body.get("subsystem", "")),
            category=str(body.get("category", "")),
            level=level,
            pid=body.get("pid"),
            t_ns=body.get("t_ns"),
        )
        return web.json_response({"pid": record.process.pid, "t_ns": record.t_mono_ns})

    async def _get_filler(self, request: web.Request) -> web.Response:
        return web.json_response(self.phone(request.match_info["udid"]).log_filler.to_json())

    async def _set_filler(self, request: web.Request) -> web.Response:
        """The log-volume knob (harness.sim.log_filler): ``{"lines_per_s", "processes", "level"}``."""
        phone = self.phone(request.match_info["udid"])
        phone.log_filler.update(await json_body(request))
        phone.truth.emit("sim", "log-filler", udid=phone.udid, **phone.log_filler.to_json())
        return web.json_response(phone.log_filler.to_json())

    async def _get_log(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        limit = int(request.query.get("limit", "1000"))
        records = list(phone.log_history)[-limit:]
        return web.json_response(
            [
                {
                    "t_ns": r.t_mono_ns,
                    "pid": r.process.pid,
                    "process": r.process.name,
                    "path": r.process.path,
                    "subsystem": r.subsystem,
                    "category": r.category,
                    "level": r.level,
                    "message": r.message,
                }
                for r in records
            ]
        )

    async def _post_crash(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        body = await json_body(request)
        process = body.get("process")
        if not isinstance(process, str) or not process:
            raise UsageError("a crash needs a 'process' name")
        path = phone.add_crash_report(process)
        return web.json_response({"path": path})

    async def _get_connects(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        return web.json_response({str(k): v for k, v in sorted(phone.connect_counts.items())})

    async def _reset_connects(self, request: web.Request) -> web.Response:
        phone = self.phone(request.match_info["udid"])
        phone.connect_counts.clear()
        return web.json_response({})

    async def _stop(self, request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_later(0.05, self.stopped.set)
        return web.json_response({"stopping": True})
