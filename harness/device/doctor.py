"""What a lab phone needs, checked: each miss with its fix.

:func:`gather` reads what can be read from the phone (usbmuxd, lockdown, installation_proxy,
misagent's provisioning profiles, WDA's ``/status``, mobile_image_mounter, tunneld) into
:class:`Facts`; :func:`evaluate` turns facts (and what the lab file says of the phone: its role,
Apple ID, WDA runner) into checks and is pure, so the rules are unit-tested without a phone. Several
needs (Siri, Auto-Lock, Focus, Live Voicemail, unknown-caller screening, Incoming Calls style, the
caller as a contact, Music content, the app's microphone and local network permissions) are settings
or content that no lockdown service reports: those checks say where to confirm them by hand and are
never given a value the phone did not give.

Every ``pymobiledevice3`` command a fix names is parsed by the installed pymobiledevice3's own CLI
in ``tests/device/test_doctor_commands.py``, so a fix never suggests a command that does not exist.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness import ios
from harness.device import errors
from harness.device.apps import AppInfo, app_info, list_apps
from harness.device.errors import DeviceFault
from harness.device.info import DeviceInfo, read_info
from harness.device.lockdown import DEFAULT_TIMEOUTS, Timeouts, connect_unpaired
from harness.device.provisioning import Profile, installed_profiles, profile_for
from harness.device.usbmux import list_devices, matches
from harness.device.wda_launcher import WDA_PORT, Status, ddi_status, tunnel_status, wda_status

OK, FAIL, WARN, MANUAL, UNKNOWN, NOT_APPLICABLE = "ok", "fail", "warn", "by hand", "unknown", "n/a"
MIN_BATTERY = 30
PROFILE_WARN_DAYS = 2.0
"""A profile that expires sooner than this warns: a long run (or tomorrow's) would lose WDA."""
RUNNER_SUFFIX = ".xctrunner"
"""How Xcode names a UI-test runner's bundle id (``<product bundle id>.xctrunner``)."""


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
    # -- what the lab file says of this phone (empty without a lab file) ---------------------------
    role: str = ""
    """``dut`` or ``caller``; empty without a lab file (then every per-role check applies)."""
    phone_number: str | None = None
    apple_id: str | None = None
    caller_numbers: tuple[str, ...] = ()
    """For a DUT: the numbers of the lab's caller phones (they must be contacts on it)."""
    wda_runner: str | None = None
    """The runner's bundle id from the lab file (``wda_runner``)."""
    wda_launch: str = "external"
    # -- what was read about the runner ------------------------------------------------------------
    runners: tuple[str, ...] | None = None
    """The ``*.xctrunner`` apps installed (looked up when the lab names no runner); None: not read."""
    runner: AppInfo | None = None
    runner_checked: bool = False
    profiles: list[Profile] | None = None
    """Every installed provisioning profile (misagent); None when they could not be read."""

    @property
    def ios(self) -> str:
        return self.info.ios if self.info else ""

    @property
    def runner_id(self) -> str | None:
        """The runner to check: the lab's, else the only ``*.xctrunner`` installed."""
        if self.wda_runner:
            return self.wda_runner
        return self.runners[0] if self.runners and len(self.runners) == 1 else None

    def is_role(self, role: str) -> bool:
        """Whether checks for ``role`` apply (all do when the lab file does not say)."""
        return self.role in ("", role)


async def gather(udid: str, *, bundle_id: str | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 wda_port: int = WDA_PORT, name: str = "", spec: Any = None,
                 caller_numbers: tuple[str, ...] = ()) -> Facts:
    """Read everything :func:`evaluate` needs; never pairs, never changes the phone.

    ``spec`` is the phone's entry in the lab file (:class:`harness.lab.schema.Device`), if any.
    """
    facts = Facts(udid=udid, name=name, bundle_id=bundle_id)
    if spec is not None:
        facts.role, facts.phone_number, facts.apple_id = spec.role, spec.phone_number, spec.apple_id
        facts.wda_runner, facts.wda_launch = spec.wda_runner, spec.wda.launch
        facts.caller_numbers = caller_numbers if spec.role == "dut" else ()
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
            await _gather_runner(facts, lockdown, timeouts)
    finally:
        await lockdown.close()
    facts.locked = facts.locked or any(p.tag == errors.PASSCODE_LOCKED for p in facts.problems.values())
    return facts


async def _gather_runner(facts: Facts, lockdown: Any, timeouts: Timeouts) -> None:
    """The WDA runner: installed (installation_proxy) and still provisioned (misagent's profiles)."""
    udid = facts.udid
    if facts.wda_runner:
        found = await _step(facts, "runner", app_info(lockdown, udid, facts.wda_runner,
                                                      timeout=timeouts.query * 2))
        facts.runner_checked = "runner" not in facts.problems
        facts.runner = found
    else:
        apps = await _step(facts, "runner",
                           list_apps(lockdown, udid, kind="User", timeout=timeouts.query * 2))
        if apps is not None:
            facts.runners = tuple(sorted(b for b in apps if b.endswith(RUNNER_SUFFIX)))
            if len(facts.runners) == 1:
                facts.runner = apps[facts.runners[0]]
                facts.runner_checked = True
    if facts.runner_id or facts.bundle_id:
        facts.profiles = await _step(facts, "profiles", installed_profiles(lockdown, udid,
                                                                           timeout=timeouts.query))


async def _step(facts: Facts, key: str, coro: Any) -> Any:
    try:
        result = await coro
    except DeviceFault as exc:
        facts.problems[key] = exc
        return None
    if key == "info":
        facts.info = result
    return result


def evaluate(f: Facts, *, min_battery: int = MIN_BATTERY, app_name: str = "the app",
             now: datetime | None = None) -> list[Check]:
    """The checklist for one phone, from what was read (pure; ``now`` for the profile dates)."""
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
                  _for(errors.FIX_PAIR, f.udid)))
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

    fix_dev_mode = _for(errors.FIX_DEV_MODE, f.udid)
    if version and ios.major(version) < 16:
        add(Check("developer_mode", "Developer Mode on", NOT_APPLICABLE,
                  f"iOS {version} has no Developer Mode"))
    elif info is None or info.developer_mode is None:
        add(Check("developer_mode", "Developer Mode on", UNKNOWN, "could not be read", fix_dev_mode))
    elif info.developer_mode:
        add(Check("developer_mode", "Developer Mode on", OK, "on"))
    else:
        add(Check("developer_mode", "Developer Mode on", FAIL, "off", fix_dev_mode))

    _wda_checks(f, add, version, now)

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

    if f.wda and f.wda.ok:
        add(Check("ui_automation", "UI Automation enabled", OK,
                  "WDA runs, which needs Settings > Developer > Enable UI Automation"))
    else:
        add(Check("ui_automation", "UI Automation enabled", MANUAL, "not reported over lockdown",
                  "Settings > Developer > Enable UI Automation: on"))
    _lab_file_checks(f, add)
    _by_hand_checks(f, add, version)
    _app_checks(f, add, app_name, now)
    return checks


def _wda_checks(f: Facts, add: Any, version: str, now: datetime | None) -> None:
    """The developer disk image, the iOS 17+ tunnel, WDA itself, its runner and the runner's profile."""
    wda_up = bool(f.wda and f.wda.ok)
    harness_starts = f.wda_launch == "xcuitest"
    # The DDI (and the iOS 17+ tunnel) are needed to start WDA, not while it runs.
    fix_ddi = _for(errors.FIX_DDI, f.udid)
    if f.ddi is None or f.ddi.ok is None:
        why = f.ddi.detail if f.ddi else _what(f.problems.get("ddi"))
        if wda_up:
            add(Check("ddi", "developer disk image", OK,
                      f"not needed while WDA runs (mount state unknown: {why})"))
        else:
            add(Check("ddi", "developer disk image", UNKNOWN, why,
                      f"check with `pymobiledevice3 mounter list --udid {f.udid}`; {fix_ddi}"))
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

    start = errors.fix_start_wda(f.udid, f.runner_id, version)
    if wda_up:
        add(Check("wda", "WDA up", OK, f.wda.detail if f.wda else ""))
    else:
        detail = f.wda.detail if f.wda else str(f.problems.get("wda", "not checked"))
        if harness_starts:
            add(Check("wda", "WDA up", WARN, f"{detail}; the harness starts {f.wda_runner} itself "
                      "(wda: {launch: xcuitest})", start))
        else:
            add(Check("wda", "WDA up", FAIL, detail,
                      f"start WebDriverAgent where it is started for this lab (Xcode: Product > Test of "
                      f"WebDriverAgentRunner on the Mac that hosts the phone), or from this host: {start}"))
    _runner_check(f, add, wda_up)
    _runner_profile_check(f, add, now)


def _runner_check(f: Facts, add: Any, wda_up: bool) -> None:
    title = "WDA runner installed"
    problem = f.problems.get("runner")
    install = _for(errors.FIX_INSTALL_RUNNER, f.udid)
    if problem is not None:
        add(Check("wda_runner", title, UNKNOWN, _what(problem), _fix_of(problem)))
    elif f.wda_runner:
        if f.runner is not None:
            add(Check("wda_runner", title, OK, f"{f.wda_runner} {f.runner.version} ({f.runner.build})"))
        elif wda_up:
            add(Check("wda_runner", title, WARN, f"WDA runs, but wda_runner {f.wda_runner} is not installed",
                      "set wda_runner: in lab.yaml to the bundle id of the runner that is installed "
                      f"(`pymobiledevice3 apps list --udid {f.udid}` lists it)"))
        else:
            add(Check("wda_runner", title, FAIL, f"{f.wda_runner} is not installed", install))
    elif f.runners is None:
        add(Check("wda_runner", title, UNKNOWN, "not checked"))
    elif len(f.runners) == 1:
        add(Check("wda_runner", title, OK if not f.role or wda_up else WARN,
                  f"found {f.runners[0]} (the lab file names no wda_runner)",
                  "" if not f.role or wda_up else
                  f"set wda_runner: {f.runners[0]} in lab.yaml so the harness can start WDA itself"))
    elif f.runners:
        add(Check("wda_runner", title, WARN, f"several runners installed: {', '.join(f.runners)}",
                  "set wda_runner: in lab.yaml to the one to use"))
    elif wda_up:
        add(Check("wda_runner", title, UNKNOWN,
                  f"WDA runs, but no {RUNNER_SUFFIX} app is installed (a runner named otherwise?)",
                  "set wda_runner: in lab.yaml to its bundle id"))
    else:
        add(Check("wda_runner", title, FAIL, f"no WebDriverAgent runner ({RUNNER_SUFFIX}) is installed",
                  install))


def _runner_profile_check(f: Facts, add: Any, now: datetime | None) -> None:
    runner = f.runner_id
    if runner is None or (f.wda_runner and f.runner is None and f.runner_checked):
        return  # nothing installed to check (the runner check says so)
    _profile_check(f, add, "wda_profile", "WDA runner's provisioning profile", runner, now,
                   _for(errors.FIX_RESIGN_RUNNER, f.udid), required=True)


def _profile_check(f: Facts, add: Any, key: str, title: str, bundle_id: str, now: datetime | None,
                   fix: str, *, required: bool) -> None:
    """Whether an installed profile lets ``bundle_id`` run on this phone now and for a while yet."""
    problem = f.problems.get("profiles")
    if f.profiles is None:
        add(Check(key, title, UNKNOWN, _what(problem) if problem else "not read",
                  _fix_of(problem) or f"check with `pymobiledevice3 provision list --udid {f.udid}`"))
        return
    now = now or datetime.now(UTC)
    best = profile_for(f.profiles, bundle_id, f.udid)
    if best is None:
        others = [p for p in f.profiles if p.covers_app(bundle_id)]
        if others:
            add(Check(key, title, FAIL, f"profile {others[0].name!r} covers {bundle_id} but not this phone's "
                      "UDID", "add the phone to the team's devices, regenerate the profile and re-sign; "
                      + fix))
        elif required:
            add(Check(key, title, WARN, f"no installed provisioning profile covers {bundle_id} (a "
                      "developer-signed runner brings one)",
                      f"check with `pymobiledevice3 provision list --udid {f.udid}`"))
        return
    day = best.expires.strftime("%Y-%m-%d %H:%M UTC")
    left = best.days_left(now)
    if left <= 0:
        add(Check(key, title, FAIL, f"{best.name!r} expired on {day}: iOS will not launch {bundle_id}", fix))
    elif left < PROFILE_WARN_DAYS:
        add(Check(key, title, WARN, f"{best.name!r} expires in {left * 24:.0f} h ({day})", fix))
    else:
        add(Check(key, title, OK, f"{best.name!r} valid until {day} ({left:.0f} days)"))


def _lab_file_checks(f: Facts, add: Any) -> None:
    """What the scenarios read from the lab file about this phone."""
    if f.role != "dut":
        return
    if not f.phone_number:
        add(Check("phone_number", "phone number in the lab file", WARN,
                  "no phone_number for this DUT: the caller scenarios cannot dial it",
                  'add phone_number: "+15550100001" (its number, E.164, quoted) to it in lab.yaml'))
    if not f.apple_id:
        add(Check("apple_id", "Apple ID in the lab file", WARN,
                  "no apple_id for this DUT: the FaceTime scenario ends as a lab fault",
                  "add apple_id: you@example.com (the Apple ID FaceTime uses on this phone) to it in "
                  "lab.yaml"))
    else:
        add(Check("facetime", f"FaceTime signed in as {f.apple_id}", MANUAL, "not reported over lockdown",
                  "Settings > Apps > FaceTime (Settings > FaceTime before iOS 18): FaceTime on, signed in "
                  f"with {f.apple_id}; sign the caller phone into FaceTime too"))


def _by_hand_checks(f: Facts, add: Any, version: str) -> None:
    """Settings and content no lockdown service reports; the operator confirms them."""
    major = ios.major(version) if version else 0
    phone = "Settings > Apps > Phone (Settings > Phone before iOS 18)"
    add(Check("siri", "Siri enabled", MANUAL, "not reported over lockdown",
              "Settings > Siri (Apple Intelligence & Siri on iOS 18.1+): Press Side Button for Siri on, "
              "Allow Siri When Locked on"))
    add(Check("auto_lock", "Auto-Lock off", MANUAL, "not reported over lockdown",
              "Settings > Display & Brightness > Auto-Lock > Never"))
    add(Check("focus", "Focus / Do Not Disturb off", MANUAL, "not reported over lockdown",
              "Control Center > Focus: none active, and no scheduled Focus (Settings > Focus)"))
    if not f.is_role("dut"):
        return
    if major < 26:
        add(Check("silence_unknown_callers", "Silence Unknown Callers off", MANUAL,
                  "not reported over lockdown; when on, the caller phone's call goes to voicemail",
                  f"{phone} > Silence Unknown Callers: off"))
    if major == 0 or major >= 26:
        add(Check("screen_unknown_callers", "unknown-caller screening off (iOS 26)", MANUAL,
                  "not reported over lockdown; screening answers an unknown caller before the phone rings",
                  "Settings > Apps > Phone > Screen Unknown Callers: Never, and Call Filtering > "
                  "Unknown Callers: off"))
    if major == 0 or major >= 17:
        add(Check("live_voicemail", "Live Voicemail off", MANUAL,
                  "not reported over lockdown; it answers a declined call on the phone, which may keep "
                  "iOS in the call after Decline", f"{phone} > Live Voicemail: off"))
    add(Check("incoming_calls", "Incoming Calls: Full Screen", MANUAL,
              "not reported over lockdown; the call recipes expect one call UI (the banner hides from "
              "the app's page source)", f"{phone} > Incoming Calls: Full Screen"))
    callers = ", ".join(f.caller_numbers) if f.caller_numbers else "the caller phone's number"
    add(Check("caller_contact", "caller saved as a contact", MANUAL, "not reported over lockdown",
              f"Contacts on this phone: a contact with {callers} (screening and filtering spare contacts)"))
    add(Check("music_content", "Music has a song to play", MANUAL,
              "not reported over lockdown; the other-audio scenario presses Play in Music",
              "Music on this phone: a downloaded song that plays offline, last played (Play resumes it)"))


def _app_checks(f: Facts, add: Any, app_name: str, now: datetime | None) -> None:
    if not f.bundle_id:
        add(Check("app", "app installed", NOT_APPLICABLE, "no app in the lab file (app.bundle_id)"))
        return
    if not f.app_checked:
        add(Check("app", f"{f.bundle_id} installed", UNKNOWN, _what(f.problems.get("app")),
                  _fix_of(f.problems.get("app"))))
    elif f.app is None:
        add(Check("app", f"{f.bundle_id} installed", FAIL, "not installed",
                  "install the lab file's app.ipa (`pymobiledevice3 apps install APP.ipa --udid "
                  f"{f.udid}`, or the harness's Device.install)"))
    else:
        add(Check("app", f"{f.bundle_id} installed", OK, f"version {f.app.version} ({f.app.build})"))
        if f.profiles is not None:
            # App Store and TestFlight builds carry no profile; a development or ad hoc build does.
            _profile_check(f, add, "app_profile", f"{f.bundle_id}'s provisioning profile", f.bundle_id, now,
                           "re-sign the app with a current profile and reinstall it", required=False)
    label = f.app.name if f.app and f.app.name else app_name
    add(Check("microphone", f"{label} may use the microphone", MANUAL, "not reported over lockdown",
              f"Settings > Privacy & Security > Microphone > {label}: on (or Allow at its first launch)"))
    add(Check("local_network", f"{label} may use the local network", MANUAL, "not reported over lockdown",
              f"Settings > Privacy & Security > Local Network > {label}: on (or Allow at its first launch)"))


def _for(fix: str, udid: str) -> str:
    """A fix text with its ``UDID`` placeholder filled in."""
    return fix.replace("UDID", udid)


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
