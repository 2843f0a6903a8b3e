"""A first lab.yaml from the phones usbmuxd lists (``harness lab init``).

:func:`discover` reads what each attached phone says about itself over lockdown (never pairing it):
its name, UDID, model, iOS version, the phone number of its SIM (lockdown's ``PhoneNumber``, paired
phones only) and the WebDriverAgent runners installed on it (installation_proxy, ``*.xctrunner``).
:func:`render` writes the lab file as text: the phones with their roles, then commented
placeholders for what no phone reports (the app, the audio rig, the peer's address, accessories),
each with a line on what to put there. The text is checked against the schema before it is
written, so ``harness lab init`` never writes a file the harness would refuse.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from harness.errors import UsageError
from harness.lab.schema import Lab

ROLES = ("dut", "caller")
RUNNER_SUFFIX = ".xctrunner"


@dataclass
class Found:
    """One attached phone as it describes itself."""

    udid: str
    name: str = ""
    product_type: str = ""
    model: str = ""
    ios: str = ""
    paired: bool = False
    sim_number: str = ""
    """lockdown's ``PhoneNumber`` as the phone formats it ("+1 (408) 555-0100"); empty if not given."""
    runners: tuple[str, ...] = ()
    problem: str = ""
    """Why something could not be read (not paired, locked...), with its fix."""


@dataclass
class Choice:
    """What goes into the lab file for one phone."""

    found: Found
    role: str
    phone_number: str | None = None
    apple_id: str | None = None
    wda_runner: str | None = None
    wda_launch: str | None = None
    notes: list[str] = field(default_factory=list)


async def discover(timeout: float = 15.0) -> list[Found]:
    """Every phone usbmuxd lists, described (an unreadable value stays empty, with ``problem`` set)."""
    import asyncio

    from harness.device.usbmux import list_devices

    attached = await list_devices(min(timeout, 5.0))
    return list(await asyncio.gather(*(_describe(a.udid, timeout) for a in attached)))


async def _describe(udid: str, timeout: float) -> Found:
    from harness.device.apps import list_apps
    from harness.device.errors import DeviceFault
    from harness.device.info import read_info
    from harness.device.lockdown import Timeouts, connect_unpaired

    found = Found(udid)
    try:
        lockdown = await connect_unpaired(udid, Timeouts(connect=timeout, query=timeout))
    except DeviceFault as exc:
        found.problem = str(exc)
        return found
    try:
        values = dict(lockdown.all_values or {})
        found.paired = bool(lockdown.paired)
        try:
            info = await read_info(lockdown, udid, timeout=timeout)
            found.name, found.product_type, found.model, found.ios = (info.name, info.product_type,
                                                                      info.model, info.ios)
        except DeviceFault as exc:
            found.problem = str(exc)
        found.sim_number = str(values.get("PhoneNumber") or "")
        if not found.paired:
            found.problem = (f"not paired with this host: `pymobiledevice3 lockdown pair --udid {udid}`, tap "
                             "Trust on the phone, then run `harness lab init` again")
        else:
            try:
                apps = await list_apps(lockdown, udid, kind="User", timeout=timeout * 2)
                found.runners = tuple(sorted(b for b in apps if b.endswith(RUNNER_SUFFIX)))
            except DeviceFault as exc:
                found.problem = str(exc)
    finally:
        await lockdown.close()
    return found


def pick(phones: list[Found], key: str, option: str) -> Found:
    """The phone ``key`` names (its name or UDID, with or without the dash); UsageError otherwise."""
    want = key.replace("-", "").upper()
    for p in phones:
        if key == p.name or want == p.udid.replace("-", "").upper():
            return p
    raise UsageError(f"{option} {key!r}: no attached iPhone has that name or UDID; "
                     f"attached: {listing(phones)}")


def listing(phones: list[Found]) -> str:
    return ", ".join(f"{p.name or '?'} ({p.udid})" for p in phones) or "none"


def e164(text: str) -> str | None:
    """A phone number as lockdown formats it ("+1 (408) 555-0100") in E.164, or None if it has no
    country code (a national number cannot be made international without guessing)."""
    digits = re.sub(r"[\s().-]", "", text)
    return digits if re.fullmatch(r"\+[1-9]\d{6,14}", digits) else None


def assign(phones: list[Found], *, dut: str | None, callers: list[str], ask: Any = None) -> list[Choice]:
    """Give each phone its role: ``--dut``/``--caller`` first, then ``ask(found) -> role | ''`` for the
    rest (a terminal); without ``ask`` the rest stay out of the lab. One phone must be the DUT."""
    chosen: dict[str, str] = {}
    if dut is not None:
        chosen[pick(phones, dut, "--dut").udid] = "dut"
    for key in callers:
        p = pick(phones, key, "--caller")
        if chosen.get(p.udid) == "dut":
            raise UsageError(f"--caller {key!r} is also the --dut; a phone has one role")
        chosen[p.udid] = "caller"
    if ask is not None:
        for p in phones:
            if p.udid not in chosen:
                role = ask(p, "dut" in chosen.values())
                if role:
                    chosen[p.udid] = role
    if "dut" not in chosen.values():
        raise UsageError("name the phone under test: --dut NAME|UDID (and the phone that calls it: --caller "
                         f"NAME|UDID); attached: {listing(phones)}")
    return [Choice(p, chosen[p.udid]) for p in phones if p.udid in chosen]


def apply_options(choices: list[Choice], *, numbers: list[str], apple_ids: list[str], runner: str | None,
                  launch: str | None) -> None:
    """The values given on the command line (``KEY=VALUE``, KEY a phone's name or UDID, or its role),
    then what the phones said (the SIM's number, the one runner installed)."""
    for option, pairs, attr in (("--number", numbers, "phone_number"), ("--apple-id", apple_ids, "apple_id")):
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key or not value:
                raise UsageError(f"{option} {pair!r}: use {option} PHONE=VALUE (PHONE: a name, UDID, dut "
                                 "or caller)")
            hits = [c for c in choices if key in (c.role, c.found.name)
                    or key.replace("-", "").upper() == c.found.udid.replace("-", "").upper()]
            if not hits:
                known = ", ".join(f"{c.found.name or c.found.udid} ({c.role})" for c in choices)
                raise UsageError(f"{option} {pair!r}: {key!r} is none of the lab's phones ({known})")
            if attr == "phone_number":
                value = e164(value) or value  # "+1 (555) 010-0001" as a person may type it
            for c in hits:
                setattr(c, attr, value)
    for c in choices:
        f = c.found
        if c.phone_number is None and f.sim_number:
            c.phone_number = e164(f.sim_number)
            c.notes.append(f"phone_number: from the SIM (lockdown PhoneNumber {f.sim_number!r})"
                           if c.phone_number else
                           f"lockdown says its number is {f.sim_number!r}: write it in E.164 (+country...)")
        c.wda_runner = runner or (f.runners[0] if len(f.runners) == 1 else None)
        if runner is None and len(f.runners) > 1:
            c.notes.append(f"several WDA runners are installed: {', '.join(f.runners)}; set wda_runner")
        c.wda_launch = launch
        if launch == "xcuitest" and not c.wda_runner:
            raise UsageError(f"--wda-launch xcuitest: no WDA runner found on {f.name or f.udid}; pass "
                             "--wda-runner BUNDLE_ID (the bundle id of your signed runner)")


def render(choices: list[Choice], *, usbmuxd: str | None, others: Sequence[Found] = ()) -> str:
    """The lab file's text (checked against the schema: UsageError if a given value is invalid)."""
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    out = [
        f"# Written by `harness lab init` on {now}. Check it with `harness doctor --lab THIS_FILE`;",
        '# the README ("Your first hour with real phones", "Point it at your lab") explains each key.',
        "version: 1",
    ]
    if usbmuxd:
        out.append(f"usbmuxd: {_scalar(usbmuxd)}")
    else:
        out.append("# usbmuxd: 192.168.1.10:27015   # a Mac's usbmuxd over TCP; omit for this host's usbmuxd")
    out.append("devices:")
    for c in sorted(choices, key=lambda c: ROLES.index(c.role)):
        out += _device(c)
    for f in others:
        out.append(f"  # also attached, not in this lab: {f.name or '?'} ({f.udid}); add it with --caller")
    dut = next(c for c in choices if c.role == "dut").found
    out += _placeholders(dut.name or dut.udid)
    text = "\n".join(out) + "\n"
    try:  # never write what Lab.load would refuse
        Lab.from_dict(yaml.safe_load(text), source="NEW")
    except UsageError as exc:
        why = str(exc).replace("lab file NEW: ", "")
        raise UsageError(f"a value given does not fit the lab file: {why}") from None
    return text


def _device(c: Choice) -> list[str]:
    f = c.found
    lines = [f"  - name: {_scalar(f.name or 'iPhone ' + f.udid[-6:])}",
             f"    udid: {f.udid}",
             f"    role: {c.role}"]
    if f.product_type:
        lines.append(f"    model: {_scalar(f.product_type)}" + (f"   # {f.model}" if f.model != f.product_type
                                                                  else ""))
    if f.ios:
        lines.append(f"    ios: {_scalar(f.ios)}")
    if c.phone_number:
        lines.append(f"    phone_number: {_scalar(c.phone_number)}")
    else:
        lines.append('    # phone_number: "+15550100001"   # its number (E.164, quoted): the caller phones '
                     "dial it")
    if c.apple_id:
        lines.append(f"    apple_id: {_scalar(c.apple_id)}")
    elif c.role == "dut":
        lines.append("    # apple_id: you@example.com      # the Apple ID FaceTime uses on it (the FaceTime "
                     "scenario)")
    if c.wda_runner:
        found = c.wda_runner in f.runners
        lines.append(f"    wda_runner: {_scalar(c.wda_runner)}" + ("   # found installed" if found else ""))
    else:
        lines.append("    # wda_runner: com.example.WebDriverAgentRunner.xctrunner   # your signed runner's "
                     "bundle id")
    launch = c.wda_launch or ("xcuitest" if c.wda_runner else "external")
    lines.append(f"    wda: {{launch: {launch}}}   # xcuitest: the harness starts the runner; external: "
                 "WDA is started elsewhere (Xcode on a Mac)")
    if f.problem:
        lines.append(f"    # {f.problem}")
    lines += [f"    # {n}" for n in c.notes]
    return lines


def _placeholders(dut: str) -> list[str]:
    return [
        "# app:                            # the app under test",
        "#   bundle_id: com.example.voice",
        "#   ipa: build/VoiceApp.ipa       # optional: install it before a run",
        "# audio:                          # the capture rig: which input records each output route",
        "#   capture:",
        '#     device: "Scarlett 4i4"',
        "#     channels: {receiver: 0, speaker: 1, bt_hfp: 2}",
        "#     reference: 3                # the pilot tone looped into the interface",
        '#   mouth: {device: "Scarlett 4i4", channel: 0}',
        "# peer:                           # the WebRTC peer the app calls",
        "#   bind: 0.0.0.0:8443",
        "#   advertise: 192.168.1.20       # the address the phones reach this host at (a LAN address)",
        "# accessories:                    # a paired headset on a shelf, through Settings > Bluetooth",
        "#   - name: AirPods Pro           # as Settings > Bluetooth lists it",
        "#     kind: bluetooth",
        f"#     device: {dut}",
        "#     profiles: [hfp, a2dp]",
        "#     plugin: harness.lab.settings_bluetooth:SettingsBluetoothAccessory",
    ]


def _scalar(value: str) -> str:
    """One YAML scalar, quoted where YAML would read it otherwise (a version, a number, a colon)."""
    text = yaml.safe_dump(str(value), default_flow_style=True, width=1000).strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    if text == str(value) and re.fullmatch(r"[\d.+]+", text):
        text = f'"{text}"'
    return text
