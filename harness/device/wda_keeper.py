"""WebDriverAgent kept alive for a run: one keeper per phone, for the whole session.

    keeper = WdaKeeper.for_device(device, launch="xcuitest", runner="com.x.WebDriverAgentRunner.xctrunner")
    await keeper.start()      # /status; launched (and kept running) if down and launch is xcuitest
    ...                       # the keeper watches /status every ``watch_s``; the run drives WDA
    await keeper.stop()       # stops a runner it launched, releases its tunnel

* ``launch="external"`` (WDA started elsewhere: a Mac's ``xcodebuild``, or ``pymobiledevice3
  developer dvt xcuitest`` left running): ``start()`` only checks; WDA down is a ``wda-down`` lab
  fault naming the fix.
* ``launch="xcuitest"``: WDA down is launched through pymobiledevice3's XCUITest service
  (:func:`harness.device.wda_launcher.launch_wda`: Developer Mode, the disk image and an RSD
  tunnel are checked first, each its own lab fault), and the launch is kept alive until
  :meth:`stop`. If WDA dies mid-run the keeper relaunches it **once** per run.
* Every change is a timeline event (source ``device``): ``wda-ready`` (started or adopted),
  ``wda-lost``, ``wda-relaunched`` / ``wda-relaunch-failed`` (with the fault's tag), ``wda-back``
  (an external WDA answering again). ``events`` keeps them too; ``timeline`` may be swapped per
  test by the session that owns the keeper.

Death is decided carefully: launching a second runner over a live one would kill it. A runner the
keeper launched is dead when its XCUITest task ended; otherwise WDA is dead when its port refuses
the connection (``service-refused``: nothing listens) on one probe, or when ``/status`` times out
on ``timeouts_to_dead`` probes in a row (a busy WDA answers late, but answers).

Sessions: the keeper does not talk WebDriver; once WDA is up, the phone side adopts the session
WDA holds (:meth:`harness.phone.wda_client.WdaConnection.adopt_session`) instead of creating one
(pymobiledevice3 #1825).

Real phone vs virtual lab: the virtual WDA is always running (no DTX, so the launch success path
cannot run there; the launch attempt ends in the honest lab fault: ``tunnel-needed`` for its iOS
17.4+ phones, ``no-developer-disk-image`` for its iOS 16 phone whose lockdownd refuses
testmanagerd). Death, relaunch attempts and an external WDA coming back are tested against the
virtual lab (tests/device/test_wda_keeper.py); the real launch, keep-alive and adoption are the
``@pytest.mark.iphone`` test "WDA up and adopted without killing the runner"
(tests/device/test_real_wda.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.device import errors
from harness.device.tunnels import BROKER, TunnelBroker
from harness.device.wda_launcher import WDA_PORT, Status, WdaRun, launch_wda, wda_status
from harness.errors import LabFault
from harness.timeline import Timeline

Launch = Literal["xcuitest", "external"]
SOURCE = "device"
FIX_EXTERNAL = ("start WebDriverAgent and keep it running for the whole run: on a Mac `xcodebuild "
                "test-without-building` with the WebDriverAgentRunner scheme, or on this host "
                "`pymobiledevice3 developer dvt xcuitest RUNNER --udid UDID` left running; or let the "
                "harness launch it: set the phone's wda_runner (and wda: {launch: xcuitest}) in the lab file")


@dataclass
class KeeperEvent:
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


class WdaKeeper:
    """Keeps one phone's WDA answering until :meth:`stop` (see the module docstring)."""

    def __init__(self, lockdown: Any, udid: str, *, launch: Launch = "external", runner: str | None = None,
                 port: int = WDA_PORT, name: str = "", timeline: Timeline | None = None,
                 tunnels: TunnelBroker = BROKER, launch_timeout: float = 60.0, probe_timeout: float = 5.0,
                 watch_s: float = 5.0, timeouts_to_dead: int = 3) -> None:
        if launch not in ("xcuitest", "external"):
            raise ValueError(f"launch must be 'xcuitest' or 'external', got {launch!r}")
        if launch == "xcuitest" and not runner:
            raise ValueError("launch 'xcuitest' needs the runner's bundle id")
        self.lockdown = lockdown
        self.udid = udid
        self.launch = launch
        self.runner = runner
        self.port = port
        self.name = name or udid
        self.timeline = timeline
        self.tunnels = tunnels
        self.launch_timeout = launch_timeout
        self.probe_timeout = probe_timeout
        self.watch_s = watch_s
        self.timeouts_to_dead = timeouts_to_dead
        self.run: WdaRun | None = None
        self.relaunches = 0
        self.up = False
        self.events: list[KeeperEvent] = []
        self._timeouts = 0
        self._watch: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def for_device(cls, device: Any, **kwargs: Any) -> WdaKeeper:
        """A keeper over a :class:`harness.device.Device` (its lockdown, UDID, timeline and timeouts)."""
        kwargs.setdefault("timeline", device.timeline)
        kwargs.setdefault("launch_timeout", device.timeouts.wda)
        kwargs.setdefault("probe_timeout", device.timeouts.port_connect)
        return cls(device.lockdown, device.udid, **kwargs)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, *, watch: bool = True) -> WdaRun:
        """WDA answering on the phone, adopted or launched; then watched until :meth:`stop`."""
        status = await self._probe()
        if status.ok:
            self.run = WdaRun(self.udid, False, f"already running: {status.detail}")
        elif self.launch == "external":
            raise LabFault(f"{self.name} ({self.udid}): WebDriverAgent does not answer on device port "
                           f"{self.port} ({status.detail}) and the lab file says it is started elsewhere "
                           f"(wda.launch: external); fix: {self._fix_external()}", tag=errors.WDA_DOWN)
        else:
            self.run = await self._launch()
        self.up = True
        self._record("wda-ready", started=self.run.started, detail=self.run.detail, launch=self.launch)
        if watch and self._watch is None:
            self._watch = asyncio.ensure_future(self._watching())
        return self.run

    async def stop(self) -> None:
        """Stop watching; stop the runner this keeper launched (a WDA it adopted keeps running)."""
        task, self._watch = self._watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self.run is not None:
            await self.run.stop()

    async def __aenter__(self) -> WdaKeeper:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- watching --------------------------------------------------------------------------------

    async def check(self) -> str:
        """One watch step: ``up``, ``down`` (still), ``lost`` (no relaunch), ``relaunched``,
        ``relaunch-failed`` or ``back``. The watcher calls it every ``watch_s``; tests call it directly."""
        async with self._lock:
            dead, detail, tag = await self._dead()
            if not dead:
                if not self.up:
                    self.up = True
                    self._record("wda-back", detail=detail)
                    return "back"
                return "up"
            if not self.up:
                return "down"
            self.up = False
            self._record("wda-lost", detail=detail, tag=tag, relaunches=self.relaunches)
            if self.launch != "xcuitest" or self.relaunches >= 1:
                return "lost"
            self.relaunches += 1
            if self.run is not None:
                await self.run.stop()
            try:
                self.run = await self._launch()
            except LabFault as exc:
                self._record("wda-relaunch-failed", tag=exc.tag, error=str(exc))
                return "relaunch-failed"
            self.up = True
            self._timeouts = 0
            self._record("wda-relaunched", detail=self.run.detail)
            return "relaunched"

    async def _watching(self) -> None:
        while True:
            await asyncio.sleep(self.watch_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a watch step that fails (the phone detached) is noted, not fatal
                self._record("wda-watch-error", error=f"{type(exc).__name__}: {exc}")

    async def _dead(self) -> tuple[bool, str, str]:
        """(dead, detail, tag) by the rule in the module docstring."""
        if self.run is not None and self.run.started and not self.run.alive:
            return True, "the WDA runner the harness launched exited", errors.WDA_DOWN
        status = await self._probe()
        if status.ok:
            self._timeouts = 0
            return False, status.detail, ""
        if status.tag == errors.DEVICE_TIMEOUT:
            self._timeouts += 1
            if self._timeouts < self.timeouts_to_dead:
                return False, f"/status timed out ({self._timeouts} of {self.timeouts_to_dead})", ""
        return True, status.detail, status.tag or errors.WDA_DOWN

    # -- helpers ---------------------------------------------------------------------------------

    async def _probe(self) -> Status:
        return await wda_status(self.lockdown, self.udid, port=self.port, timeout=self.probe_timeout)

    async def _launch(self) -> WdaRun:
        assert self.runner is not None
        return await launch_wda(self.lockdown, self.udid, runner_bundle_id=self.runner, port=self.port,
                                timeout=self.launch_timeout, tunnels=self.tunnels)

    def _fix_external(self) -> str:
        return FIX_EXTERNAL.replace("RUNNER", self.runner or "<runner bundle id>").replace("UDID", self.udid)

    def _record(self, kind: str, **fields: Any) -> None:
        self.events.append(KeeperEvent(kind, fields))
        if self.timeline is not None:
            self.timeline.emit(SOURCE, kind, udid=self.udid, phone=self.name, **fields)
