"""What a lab phone needs, checked: each miss with its fix.

:func:`gather` reads what can be read from the phone (usbmuxd, lockdown, installation_proxy, WDA's
``/status``, mobile_image_mounter, tunneld) into :class:`Facts`; :func:`evaluate` turns facts into
checks and is pure, so the rules are unit-tested without a phone. Several needs (Siri, Auto-Lock,
Focus, Silence Unknown Callers, the app's microphone and local network permissions) are settings
that no lockdown service reports: those checks say where to confirm them by hand and are never
given a value the phone did not give.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness import ios
from harness.device import errors
from harness.device.apps import AppInfo, app_info
from harness.device.errors import DeviceFault
from harness.device.info import DeviceInfo, read_info
from harness.device.lockdown import DEFAULT_TIMEOUTS, Timeouts, connect_unpaired
from harness.device.usbmux import list_devices, matches
from harness.device.wda_launcher import WDA_PORT, Status, ddi_status, tunnel_status, wda_status

OK, FAIL, WARN, MANUAL, UNKNOWN, NOT_APPLICABLE = "ok", "fail", "warn", "by hand", "unknown", "n/a"
MIN_BATTERY = 30


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    status: str
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Facts:
    """What was read from one phone; None means "could not be read" (``problems`` says why)."""

    udid: str
    name: str = ""
    attached: bool = False
    info: DeviceInfo | None = None
    paired: bool | None = None
    locked: bool = False
    wda: Status | None = None
    ddi: Status | None = None
    tunnel: Status | None = None
    bundle_id: str | None = None
    app: AppInfo | None = None
    app_checked: bool = False
    problems: dict[str, DeviceFault] = field(default_factory=dict)

    @property
    def ios(self) -> str:
        return self.info.ios if self.info else ""


async def gather(udid: str, *, bundle_id: str | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 wda_port: int = WDA_PORT, name: str = "") -> Facts:
    """Read everything :func:`evaluate` needs; never pairs, never changes the phone."""
    facts = Facts(udid=udid, name=name, bundle_id=bundle_id)
    facts.attached = any(matches(a.udid, udid) for a in await list_devices(timeouts.query))
    if not facts.attached:
        return facts
    try:
        lockdown = await connect_unpaired(udid, timeouts)
    except DeviceFault as exc:
        facts.problems["connect"] = exc
        facts.locked = exc.tag == errors.PASSCODE_LOCKED
        return facts
    try:
        facts.paired = bool(lockdown.paired)
        await _step(facts, "info", read_info(lockdown, udid, timeout=timeouts.query))
        if facts.paired:
            facts.wda = await _step(facts, "wda", wda_status(lockdown, udid, port=wda_port,
                                                             timeout=timeouts.port_connect))
            facts.ddi = await _step(facts, "ddi", ddi_status(lockdown, udid, timeout=timeouts.query))
            if facts.wda is not None and not facts.wda.ok and facts.info:
                facts.tunnel = await _step(facts, "tunnel", tunnel_status(udid, facts.info.ios))
            if bundle_id:
                found = await _step(facts, "app",
                                    app_info(lockdown, udid, bundle_id, timeout=timeouts.query * 2))
                facts.app_checked = "app" not in facts.problems
                facts.app = found
    finally:
        await lockdown.close()
    facts.locked = facts.locked or any(p.tag == errors.PASSCODE_LOCKED for p in facts.problems.values())
    return facts


async def _step(facts: Facts, key: str, coro: Any) -> Any:
    try:
        result = await coro
    except DeviceFault as exc:
        facts.problems[key] = exc
        return None
    if key == "info":
        facts.info = result
    return result


def evaluate(f: Facts, *, min_battery: int = MIN_BATTERY, app_name: str = "the app") -> list[Check]:
    """The checklist for one phone, from what was read (pure)."""
    checks: list[Check] = []
    add = checks.append
    if not f.attached:
        add(Check("attached", "attached to usbmuxd", FAIL, "usbmuxd does not list this phone",
                  errors.FIX_CABLE))
        return checks
    add(Check("attached", "attached to usbmuxd", OK, "listed by usbmuxd"))
    connect_problem = f.problems.get("connect")
    if f.paired is None:
        detail = str(connect_problem) if connect_problem else "lockdown did not answer"
        add(Check("paired", "paired with this host", UNKNOWN, detail, _fix_of(connect_problem)))
        return checks
    if not f.paired:
        add(Check("paired", "paired with this host", FAIL, "no valid pair record for this host",
                  errors.FIX_PAIR.replace("UDID", f.udid)))
        return checks
    add(Check("paired", "paired with this host", OK, "lockdown session with TLS"))

    info = f.info
    version = info.ios if info else ""

    # Passcode: lockdown reports whether one is set; a locked phone refuses services outright.
    if f.locked:
        add(Check("passcode", "no passcode", FAIL, "the phone is locked with a passcode", errors.FIX_UNLOCK))
    elif info is None or info.passcode_set is None:
        add(Check("passcode", "no passcode", UNKNOWN, "lockdown did not report PasswordProtected",
                  "check Settings > Face ID & Passcode"))
    elif info.passcode_set:
        add(Check("passcode", "no passcode", FAIL, "a passcode is set (the phone locks itself)",
                  "Settings > Face ID & Passcode > Turn Passcode Off"))
    else:
        add(Check("passcode", "no passcode", OK, "no passcode set"))

    if version and ios.major(version) < 16:
        add(Check("developer_mode", "Developer Mode on", NOT_APPLICABLE,
                  f"iOS {version} has no Developer Mode"))
    elif info is None or info.developer_mode is None:
        add(Check("developer_mode", "Developer Mode on", UNKNOWN, "could not be read", errors.FIX_DEV_MODE))
    elif info.developer_mode:
        add(Check("developer_mode", "Developer Mode on", OK, "on"))
    else:
        add(Check("developer_mode", "Developer Mode on", FAIL, "off", errors.FIX_DEV_MODE))

    wda_up = bool(f.wda and f.wda.ok)
    # The DDI (and the iOS 17+ tunnel) are needed to start WDA, not while it runs.
    fix_ddi = errors.FIX_DDI.replace("UDID", f.udid)
    if f.ddi is None or f.ddi.ok is None:
        why = f.ddi.detail if f.ddi else _what(f.problems.get("ddi"))
        if wda_up:
            add(Check("ddi", "developer disk image", OK,
                      f"not needed while WDA runs (mount state unknown: {why})"))
        else:
            add(Check("ddi", "developer disk image", UNKNOWN, why,
                      f"check with `pymobiledevice3 mounter list`; {fix_ddi}"))
    elif f.ddi.ok:
        add(Check("ddi", "developer disk image", OK, f.ddi.detail))
    elif wda_up:
        add(Check("ddi", "developer disk image", WARN,
                  f"{f.ddi.detail}: WDA runs now but could not be restarted", fix_ddi))
    else:
        add(Check("ddi", "developer disk image", FAIL, f.ddi.detail, fix_ddi))

    if version and ios.major(version) >= 17:
        if wda_up:
            add(Check("tunnel", "iOS 17+ tunnel", OK, "not needed while WDA runs"))
        elif f.tunnel is None:
            add(Check("tunnel", "iOS 17+ tunnel", UNKNOWN, str(f.problems.get("tunnel", "not checked")),
                      errors.FIX_TUNNEL))
        else:
            status = {True: OK, False: FAIL, None: UNKNOWN}[f.tunnel.ok]
            add(Check("tunnel", "iOS 17+ tunnel", status, f.tunnel.detail,
                      "" if f.tunnel.ok else errors.FIX_TUNNEL))

    if wda_up:
        add(Check("wda", "WDA up", OK, f.wda.detail if f.wda else ""))
    else:
        detail = f.wda.detail if f.wda else str(f.problems.get("wda", "not checked"))
        add(Check("wda", "WDA up", FAIL, detail,
                  "start WebDriverAgentRunner (Xcode: Product > Test on the phone, or "
                  f"`pymobiledevice3 developer wda --xctrunner com.facebook.WebDriverAgentRunner.xctrunner "
                  f"--udid {f.udid} status`)"))

    if info is None or info.battery_level is None:
        add(Check("battery", f"battery at least {min_battery}% or charging", UNKNOWN, "not reported"))
    else:
        charging = " (charging)" if info.charging else ""
        text = f"{info.battery_level}%{charging}"
        if info.battery_level >= min_battery:
            add(Check("battery", f"battery at least {min_battery}% or charging", OK, text))
        elif info.charging:
            add(Check("battery", f"battery at least {min_battery}% or charging", WARN, text,
                      "let it charge before a long run"))
        else:
            add(Check("battery", f"battery at least {min_battery}% or charging", FAIL, text,
                      "plug it into a charging port (a powered hub)"))

    if wda_up:
        add(Check("ui_automation", "UI Automation enabled", OK,
                  "WDA runs, which needs Settings > Developer > Enable UI Automation"))
    else:
        add(Check("ui_automation", "UI Automation enabled", MANUAL, "not reported over lockdown",
                  "Settings > Developer > Enable UI Automation: on"))
    add(Check("siri", "Siri enabled", MANUAL, "not reported over lockdown",
              "Settings > Siri (Apple Intelligence & Siri on iOS 18.1+): Press Side Button for Siri on, "
              "Allow Siri When Locked on"))
    add(Check("auto_lock", "Auto-Lock off", MANUAL, "not reported over lockdown",
              "Settings > Display & Brightness > Auto-Lock > Never"))
    add(Check("focus", "Focus / Do Not Disturb off", MANUAL, "not reported over lockdown",
              "Control Center > Focus: none active, and no scheduled Focus (Settings > Focus)"))
    add(Check("silence_unknown_callers", "Silence Unknown Callers off", MANUAL,
              "not reported over lockdown; when on, the caller phone's call goes to voicemail",
              "Settings > Phone (Settings > Apps > Phone on iOS 18+) > Silence Unknown Callers: off"))

    if not f.bundle_id:
        add(Check("app", "app installed", NOT_APPLICABLE, "no app in the lab file (app.bundle_id)"))
        return checks
    if not f.app_checked:
        add(Check("app", f"{f.bundle_id} installed", UNKNOWN, _what(f.problems.get("app")),
                  _fix_of(f.problems.get("app"))))
    elif f.app is None:
        add(Check("app", f"{f.bundle_id} installed", FAIL, "not installed",
                  "install the lab file's app.ipa (pymobiledevice3 apps install APP.ipa, or the harness's "
                  "Device.install)"))
    else:
        add(Check("app", f"{f.bundle_id} installed", OK, f"version {f.app.version} ({f.app.build})"))
    label = f.app.name if f.app and f.app.name else app_name
    add(Check("microphone", f"{label} may use the microphone", MANUAL, "not reported over lockdown",
              f"Settings > Privacy & Security > Microphone > {label}: on (or Allow at its first launch)"))
    add(Check("local_network", f"{label} may use the local network", MANUAL, "not reported over lockdown",
              f"Settings > Privacy & Security > Local Network > {label}: on (or Allow at its first launch)"))
    return checks


def _what(problem: DeviceFault | None) -> str:
    """The bare cause of a fault ("the phone is locked with a passcode"), without phone, action and fix."""
    if problem is None:
        return "not read"
    return str(problem).split("; fix: ", 1)[0].rsplit(": ", 1)[-1]


def _fix_of(problem: DeviceFault | None) -> str:
    if problem is None:
        return ""
    text = str(problem)
    return text.split("; fix: ", 1)[1] if "; fix: " in text else ""


def verdict(checks: list[Check]) -> bool:
    """True when nothing failed (by-hand items are the operator's to confirm, not failures)."""
    return all(c.status != FAIL for c in checks)
