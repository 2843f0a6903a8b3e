"""One lab session: a lab file opened for a run, and what a scenario (or a person watching) needs
from it, without pytest.

:class:`LabSession` opens the lab (its usbmuxd, the peer's ICE consent timeout, one asyncio loop
thread for the async parts), and from it: a phone of the lab (:meth:`~LabSession.open_phone`: the
device over lockdown, the WDA port forward and recipes, the device log on the timeline), a call
(:meth:`~LabSession.open_call`: the WHIP peer and this call's token), the DUT's audio rig
(:meth:`~LabSession.audio_rig`), the app's launch environment (:meth:`~LabSession.app_env`) and the
evidence a verdict reads (:meth:`~LabSession.evidence`). The pytest fixtures (fixtures/lab.py),
``harness watch``, ``harness phone dump`` and the benches all open labs this way, so a real lab and
the virtual one take the same path.

On a real phone the same calls meet a real usbmuxd, lockdownd and WebDriverAgent; what differs
there (WDA must be running, the app must reach the peer's address over the lab's network) is
checked by ``harness doctor`` and by the ``@pytest.mark.iphone`` tests in tests/device.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import baseline, contract
from harness.audio.rig import AudioRig, apply_env
from harness.device import Device, LogFilter, PortForward, use_usbmuxd
from harness.device.errors import FIX_UNLOCK, PASSCODE_LOCKED, DeviceFault
from harness.device.os_trace import DEVICE_LOG_RAW, dut_log_filter
from harness.device.wda_keeper import WdaKeeper
from harness.errors import AppFailure, LabFault
from harness.lab.accessories import LabAccessory, load_accessories
from harness.lab.schema import Audio, Lab
from harness.lab.schema import Device as DeviceSpec
from harness.loop import LoopThread
from harness.naming import safe_name
from harness.peer.advertise import is_wildcard, phone_ip_from_status, whip_url
from harness.peer.call import Call
from harness.peer.ice import consent_timeout, set_consent_timeout
from harness.peer.whip import WhipPeer
from harness.phone import Phone
from harness.phone.locators import lab_tables
from harness.timeline import Timeline
from harness.verdicts.evidence import Evidence
from harness.verdicts.limits import Limits
from harness.verdicts.system_log import AppIdentity

Recorder = Callable[[str, Any], None]
"""Where measurements go (pytest's ``record_property`` in a scenario)."""


@dataclass
class LabPhone:
    """One phone of the lab while it is open: its lab entry, its device connection (lockdown), the
    WDA port forward and the recipes driving its UI through it, and its audio rig's description."""

    spec: DeviceSpec
    device: Device
    ui: Phone
    """The phone's UI through WebDriverAgent (recipes: dial, answer, Siri...)."""
    forward: PortForward
    audio: Audio
    app_bundle: str | None = None
    """The app under test, once launched on this phone."""
    app_pids: set[int] = field(default_factory=set)
    """The pids the app ran as (WDA's /wda/activeAppInfo after each launch): iOS's daemons may name
    it by pid."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def apple_id(self) -> str:
        if not self.spec.apple_id:
            raise LabFault(f"{self.spec.name} has no apple_id in the lab file (FaceTime Audio needs one)",
                           tag="lab-config")
        return self.spec.apple_id

    @property
    def number(self) -> str:
        if not self.spec.phone_number:
            raise LabFault(f"{self.spec.name} has no phone_number in the lab file", tag="lab-config")
        return self.spec.phone_number


@dataclass
class LabCall:
    """The lab end of the app's call: the WHIP peer and this call's token (the call's identity)."""

    peer: WhipPeer
    token: str
    loop: LoopThread
    lab: Lab
    connect_s: float = Limits.connect_s
    """How long :meth:`wait_connected` waits by default (the lab's ``connect_s`` limit)."""
    created_ns: int = field(default_factory=time.monotonic_ns)
    url: str = ""
    """The URL the app was handed (:meth:`url_for`); before that, the peer's own."""

    def __post_init__(self) -> None:
        self.url = self.url or self.peer.url

    def url_for(self, phone: LabPhone) -> str:
        """The WHIP URL ``phone`` can reach (harness.peer.advertise): ``peer.advertise``, or for a
        wildcard bind this host's address on the route to the phone's Wi-Fi address (WDA /status
        ``ios.ip``). UsageError when a real phone would get a wildcard or loopback URL."""
        bind_host = self.lab.peer.bind.rpartition(":")[0].strip("[]")
        phone_ip = None
        if self.lab.peer.advertise is None and is_wildcard(bind_host):
            phone_ip = phone_ip_from_status(phone.ui.wda.wait_ready(timeout=10))
        self.url = whip_url(self.lab.peer.bind, self.peer.port, advertise=self.lab.peer.advertise,
                            phone_ip=phone_ip, virtual=self.lab.virtual, tls=self.peer.ssl is not None,
                            phone=phone.name)
        return self.url

    @property
    def consent_timeout_s(self) -> float:
        """How long the peer keeps a connection whose phone stopped answering ICE consent checks."""
        return consent_timeout()

    @property
    def stitched(self) -> Call | None:
        """The call as the peer stitched it across the app's WHIP sessions (None before the first)."""
        return self.peer.calls.get(self.token)

    def wait_connected(self, timeout: float | None = None, settle_s: float = 1.0) -> Call:
        """Wait until the app's session is up and its audio reaches the peer, then ``settle_s`` more
        (the app's playout starts after its first packets): the call is flowing from here on."""
        timeout = self.connect_s if timeout is None else timeout
        try:
            call = self.loop.run(self.peer.wait_call(self.token, timeout), timeout=timeout + 5)
        except TimeoutError:
            raise LabFault(f"the app did not reach the lab's WHIP peer at {self.url} within {timeout:.0f} s: "
                           "check that the phone's network reaches that address (and App Transport "
                           "Security allows it)", tag="peer-unreachable") from None
        end = time.monotonic() + timeout
        while not (call.current is not None and call.current.tap is not None
                   and call.current.tap.totals()["packets"] > 0):
            if time.monotonic() > end:
                raise AppFailure(f"the app connected but sent no audio within {timeout:.0f} s")
            time.sleep(0.05)
        time.sleep(settle_s)
        return call

    def close(self) -> None:
        self.loop.run(self.peer.stop(), timeout=120)


@dataclass
class AppLauncher:
    """Launches the app under test on the DUT with the call's WHIP URL and token (relaunching it if
    it runs); :meth:`terminate` ends it."""

    dut: LabPhone
    bundle: str
    env: dict[str, str]
    launched: bool = False

    def __call__(self) -> str:
        self.dut.ui.launch_app(self.bundle, env=self.env)
        self.dut.app_bundle = self.bundle
        self.launched = True
        pid = self.dut.ui.active_app_pid(self.bundle)
        if pid is not None:
            self.dut.app_pids.add(pid)
        return self.bundle

    def terminate(self) -> None:
        if self.launched:
            self.dut.ui.terminate_app(self.bundle)


class LabSession:
    """A lab file opened for a run. ``with LabSession.open(path) as lab: ...``"""

    def __init__(self, spec: Lab, path: Path | None, loop: LoopThread, *,
                 on_close: Iterable[Callable[[], Any]] = ()) -> None:
        self.spec = spec
        self.path = path
        self.loop = loop
        self._on_close = list(on_close)
        self._app_process: dict[str, str | None] = {}
        """Per phone: the app's executable name, as its log lines name their process."""
        self._keepers: dict[str, tuple[Device, WdaKeeper]] = {}
        """Per phone: its WDA keeper for the whole session, on a lockdown connection of its own."""

    @classmethod
    def open(cls, path: str | Path, *, on_close: Iterable[Callable[[], Any]] = ()) -> LabSession:
        """Load the lab file (UsageError naming the field on a mistake) and open it. ``on_close``:
        also run when the session closes (e.g. stopping the virtual lab that wrote the file)."""
        return cls.from_spec(Lab.load(path), Path(path), on_close=on_close)

    @classmethod
    def from_spec(cls, spec: Lab, path: Path | None = None, *,
                  on_close: Iterable[Callable[[], Any]] = ()) -> LabSession:
        """Open a lab described in memory: point this process at its usbmuxd and peer settings."""
        if spec.usbmuxd:
            use_usbmuxd(spec.usbmuxd)
        if spec.peer.consent_timeout_s is not None:
            set_consent_timeout(spec.peer.consent_timeout_s)
        return cls(spec, path, LoopThread(), on_close=on_close)

    @property
    def virtual(self) -> bool:
        return self.spec.virtual

    def close(self) -> None:
        try:
            for device, keeper in self._keepers.values():
                with contextlib.suppress(Exception):  # closing must reach the loop and the lab
                    self.loop.run(keeper.stop(), timeout=30)
                with contextlib.suppress(Exception):
                    self.loop.run(device.close(), timeout=15)
            self._keepers.clear()
            self.loop.close()
        finally:
            for close in reversed(self._on_close):
                close()

    def __enter__(self) -> LabSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- phones -----------------------------------------------------------------------------------

    def lease(self, role: str, worker: int = 0) -> DeviceSpec | None:
        """The phone of ``role`` worker ``worker`` holds: worker N leases the N-th DUT and the N-th
        caller, so no two workers ever drive one phone. None: the lab has no phone with that role."""
        phones = self.spec.role(role)
        if not phones:
            return None
        if worker >= len(phones):
            raise LabFault(f"worker {worker} has no {role} of its own: the lab has {len(phones)}; "
                           f"run with -n {len(phones)} at most", tag="lab-config")
        return phones[worker]

    def open_phone(self, spec: DeviceSpec, timeline: Timeline | None, artifacts: Path, *,
                   log: bool = False) -> LabPhone:
        """Open one phone: WebDriverAgent kept up (:meth:`keep_wda`), lockdown, the WDA forward and
        recipes on the session WDA holds, and (``log``) its clock mapping and device log onto
        ``timeline``. Close it with :meth:`close_phone`."""
        device = self.loop.run(Device.open(spec.udid, timeline=timeline))
        try:
            if device.passcode_set:
                # WebDriverAgent cannot unlock a phone with a passcode (fb_unlockScreen presses Home and
                # times out; the evidence: harness/sim/profiles/sources.yaml `wda-unlock`): once
                # Auto-Lock or a scenario locks it, the recipes miss. One lab fault naming the cause,
                # before WDA is launched for it, as `harness doctor` says (the virtual lab's
                # passcode=on variant; a real phone reports the same lockdown value).
                raise DeviceFault(f"{spec.name}: a passcode is set; fix: {FIX_UNLOCK}", PASSCODE_LOCKED,
                                  spec.udid)
            self.keep_wda(spec, timeline)
            forward = self.loop.run(device.forward(spec.wda_port).start())
        except BaseException:
            self.loop.run(device.close(), timeout=15)
            raise
        phone = LabPhone(spec, device, Phone(forward.url, name=spec.name, ios_version=spec.ios,
                                             timeline=timeline, artifacts=artifacts / safe_name(spec.name),
                                             locators=lab_tables(self.spec.locator_specs())),
                         forward, self.spec.audio_for(spec))
        try:
            phone.ui.wda.adopt_session()
        except BaseException:
            self.close_phone(phone)
            raise
        if log:
            try:
                self.loop.run(device.sync_clock())
                self.loop.run(device.log_stream(self._log_filter(device),
                                                raw_path=artifacts / DEVICE_LOG_RAW))
            except BaseException:
                self.close_phone(phone)
                raise
        return phone

    def _log_filter(self, device: Device) -> LogFilter:
        """A DUT's log filter, applied as lines arrive (a real phone logs hundreds to thousands of
        lines a second; only these reach the timeline, every line goes to the raw file): the audio
        daemons, SpringBoard, InCallService, the app's executable (looked up once per phone) and
        the lab's ``device_log.processes``."""
        app = self.spec.app.bundle_id if self.spec.app else None
        if app and device.udid not in self._app_process:
            info = self.loop.run(device.app(app), timeout=30)
            self._app_process[device.udid] = info.executable if info is not None else None
        extra = [self.spec.system_log.audio_process, *self.spec.device_log.processes]
        return dut_log_filter(self._app_process.get(device.udid), extra, level=self.spec.device_log.level)

    def keep_wda(self, spec: DeviceSpec, timeline: Timeline | None) -> WdaKeeper:
        """The phone's WDA keeper (harness.device.wda_keeper), started at its first use in the session
        and kept to its end: WDA adopted when up; launched and kept running when the lab file says
        ``wda.launch: xcuitest``; relaunched once if it dies mid-run. Its events go to ``timeline``
        (the current test's). On the virtual lab WDA is always up (no DTX): it is adopted; the
        launch path runs only on hardware (tests/device/test_real_wda.py, ``@pytest.mark.iphone``)."""
        held = self._keepers.get(spec.udid)
        if held is None:
            device = self.loop.run(Device.open(spec.udid))
            keeper = WdaKeeper.for_device(device, launch=spec.wda.launch or "external",
                                          runner=spec.wda_runner, port=spec.wda_port, name=spec.name)
            try:
                self.loop.run(keeper.start(), timeout=keeper.launch_timeout + 60)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.loop.run(device.close(), timeout=15)
                raise
            held = self._keepers[spec.udid] = (device, keeper)
        held[1].timeline = timeline
        return held[1]

    def close_phone(self, phone: LabPhone) -> None:
        try:
            self.loop.run(phone.forward.stop(), timeout=15)
        finally:
            self.loop.run(phone.device.close(), timeout=15)

    def accessories_of(self, phone: LabPhone) -> dict[str, LabAccessory]:
        """The accessories the lab file gives this phone, by name, bound to it (a plugin that drives
        the phone's own UI, Settings > Bluetooth, uses its recipes)."""
        mine = {name: a for name, a in load_accessories(self.spec).items()
                if a.spec.device in (None, phone.spec.name, phone.spec.udid)}
        for a in mine.values():
            a.bind_phone(phone.ui)
        return mine

    def to_baseline(self, phone: LabPhone, timeline: Timeline | None, *, with_app: bool = True) -> list[str]:
        """Bring ``phone`` to the lab's baseline (:mod:`harness.baseline`); returns what was undone."""
        app = self.spec.app.bundle_id if with_app and self.spec.app else None
        accessories = self.accessories_of(phone).values() if with_app else ()
        undone = baseline.reset(phone.ui, app, accessories)
        if timeline is not None:
            timeline.emit("lab", "baseline", phone=phone.name, undone=undone)
        return undone

    def phone_facts(self, phone: LabPhone) -> dict[str, Any]:
        """What a phone and its app are (for a run's metadata); what cannot be read is left out."""
        facts: dict[str, Any] = {"udid": phone.spec.udid, "role": phone.spec.role}
        try:
            info = self.loop.run(phone.device.info(), timeout=15)
            facts.update(model=info.product_type, model_name=info.model, ios=info.ios, ios_build=info.build)
        except LabFault:
            pass
        if self.spec.app is not None:
            try:
                app = self.loop.run(phone.device.apps(), timeout=30).get(self.spec.app.bundle_id)
                if app is not None:
                    facts.update(app_bundle_id=app.bundle_id, app_version=app.version, app_build=app.build)
            except LabFault:
                pass
        try:
            build = phone.ui.wda.wait_ready(timeout=10).get("build") or {}
            facts["wda_version"] = build.get("version") or build.get("time")
        except LabFault:
            pass
        return facts

    # -- the call, the rig, the app, the evidence -------------------------------------------------

    def open_call(self, timeline: Timeline | None, record_dir: Path, *,
                  connect_s: float = Limits.connect_s) -> LabCall:
        """Start the lab's WHIP peer for one call with a fresh token. Close it with ``call.close()``."""
        token = secrets.token_urlsafe(16)
        peer = WhipPeer(bind=self.spec.peer.bind, tokens=[token], record_dir=record_dir, timeline=timeline)
        self.loop.run(peer.start())
        return LabCall(peer, token, self.loop, self.spec, connect_s=connect_s)

    def audio_rig(self, phone: LabPhone, timeline: Timeline | None, folder: Path) -> AudioRig:
        """The phone's route captures and mouth (not yet open: ``with rig:`` or ``rig.open()``)."""
        apply_env(phone.audio.env)
        return AudioRig(phone.audio, folder, timeline=timeline)

    def app_env(self, call: LabCall, phone: LabPhone, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The app's launch environment for ``call`` on ``phone``: the lab's own, then ``extra``, then
        the app contract's WHIP URL (one the phone can reach) and token."""
        if self.spec.app is None:
            raise LabFault("the lab file names no app (app: bundle_id: ...)", tag="lab-config")
        return {**self.spec.app.launch_env, **(extra or {}),
                **contract.launch_env(call.url_for(phone), call.token)}

    def app_launcher(self, dut: LabPhone, call: LabCall, extra: dict[str, str] | None = None) -> AppLauncher:
        env = self.app_env(call, dut, extra)
        assert self.spec.app is not None  # app_env checked it
        return AppLauncher(dut, self.spec.app.bundle_id, env)

    def evidence(self, rig: AudioRig, call: LabCall, timeline: Timeline, dut: LabPhone,
                 record: Recorder | None = None) -> Evidence:
        """What the lab records of ``call`` on ``dut`` (route captures, peer packets, device log), to
        judge by; iOS's daemons name the app by bundle id, process name or pid (``AppIdentity``)."""
        def app() -> AppIdentity:
            return AppIdentity(dut.app_bundle, self._app_process.get(dut.spec.udid), frozenset(dut.app_pids))

        return Evidence(rig, call, timeline, record=record, system_log=self.spec.system_log, app=app)
