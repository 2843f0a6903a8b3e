"""``harness phone survey``: the first hour on a real phone teaches the harness what it looks like.

No one has yet seen, through WebDriverAgent, the screens and log lines the recipes and the Siri
verdict depend on (reference/real-iphone.md §8, H4, H8, H10, H11, H13). The survey walks a lab's
DUT and caller through every state the catalog needs (:mod:`harness.phone.survey.walk`), saves
each as the phone showed it, and writes into ``--out``:

* ``profile.yaml``: what the DUT showed and logged, as a phone profile in the virtual lab's format
  (:mod:`harness.phone.survey.profile`; scrubbed of phone numbers, Apple IDs and names): ``harness
  doctor --profile`` checks every recipe's locators against it, ``harness sim up --phone-profile``
  replays it, a lab copies locators from it into lab.yaml;
* ``survey.html``: per state the screenshot, which locators of the recipes acting there match the
  saved trees and which do not, what the live recipe did, the device-log lines of the audio daemons,
  SpringBoard, InCallService and callservicesd around it, and a suggested ``system_log`` pattern;
* ``survey.json`` (the same, for tools) and ``raw/`` (screenshots, sources, ``/wda/activeAppInfo``,
  both phones' whole device logs, the timeline).

The unfiltered device-log rate idle and in a call, and WDA's find and source latency, are measured
on the way. Nothing needs the app under test.

Real phone vs virtual lab: on the virtual lab the walk reaches every state and its profile holds
the variant values the virtual phone ran with (tests/cli/test_survey.py); on a real phone a state
may be unreachable (a recipe miss, a setting), which the report says with why, and the reset of
media services is cancelled at its sheet unless ``--confirm-reset`` (tests/iphone/test_survey.py).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import LabFault, UsageError
from harness.lab.schema import Device as DeviceSpec
from harness.phone.locator_match import evaluate
from harness.phone.survey import device_log, profile
from harness.phone.survey.privacy import Scrubber
from harness.phone.survey.walk import State, Walk
from harness.session import LabPhone, LabSession
from harness.timeline import Timeline

OUT_FILES = ("profile.yaml", "survey.html", "survey.json", "raw")
"""What a survey writes into --out (and empties there before it starts)."""
MARGIN_NS = 1_000_000_000
"""Log lines this long before a state's start and after its end still belong to it."""


@dataclass
class Result:
    out: Path
    states: dict[str, State]
    profile_path: Path
    html_path: Path
    facts: dict[str, tuple[str, str]]

    @property
    def reached(self) -> int:
        return sum(1 for s in self.states.values() if s.reached)


def prepare(out: Path) -> Path:
    """``out`` created, or emptied of an earlier survey; a folder holding anything else is refused."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; pick another --out")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUT_FILES)
        if foreign:
            raise UsageError(f"--out {out} holds other files ({', '.join(foreign[:5])}): give an empty "
                             "folder or an earlier survey's")
        for name in OUT_FILES:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def run(session: LabSession, dut: DeviceSpec, caller: DeviceSpec | None, out: Path, *,
        confirm_reset: bool = False, log_window_s: float = 10.0, timer_s: int = 8,
        say: Callable[[str], None] = print) -> Result:
    """Survey ``dut`` (with ``caller`` calling it) into ``out``; see the module's docstring."""
    out = prepare(out)
    raw = out / "raw"
    timeline = Timeline(raw / "timeline.jsonl")
    say(f"survey of {dut.name} (caller {caller.name if caller else 'none'}) into {out}")
    dut_phone = session.open_phone(dut, timeline, raw / "dut", log=True)
    caller_phone: LabPhone | None = None
    try:
        if caller is not None:
            try:
                caller_phone = session.open_phone(caller, timeline, raw / "caller", log=True)
            except LabFault as exc:
                say(f"the caller {caller.name} cannot be opened ({exc}): the call states are unreachable")
        facts_dut = session.phone_facts(dut_phone)
        names = [dut.name, *([caller.name] if caller else [])]
        for phone in (dut_phone, caller_phone):
            if phone is not None:
                with contextlib.suppress(LabFault):
                    names.append(session.loop.run(phone.device.info(), timeout=15).name)
        walk = Walk(session, dut_phone, caller_phone, raw, timeline, confirm_reset=confirm_reset,
                    log_window_s=log_window_s, timer_s=timer_s, say=say)
        try:
            walk.run()
        finally:
            clocks = {role: p.device.clock.model for role, p in (("dut", dut_phone), ("caller", caller_phone))
                      if p is not None}
    finally:
        if caller_phone is not None:
            session.close_phone(caller_phone)
        session.close_phone(dut_phone)
    lines = {role: device_log.read(raw / role / "device-log-raw.txt") for role in clocks}
    scrubber = Scrubber(numbers=[d.phone_number for d in (dut, caller) if d is not None and d.phone_number])
    scrubber.add_names(names)
    return write(out, walk, facts_dut, lines, clocks, scrubber, session)


def _phone_ns(clocks: dict[str, Any], role: str, lab_ns: int) -> int | None:
    model = clocks.get(role)
    return model.to_phone_ns(lab_ns) if model is not None else None


def state_lines(state: State, lines: dict[str, list[device_log.LogLine]], clocks: dict[str, Any]
                ) -> list[device_log.LogLine]:
    start = _phone_ns(clocks, state.phone, state.start_ns - MARGIN_NS)
    end = _phone_ns(clocks, state.phone, state.end_ns + MARGIN_NS)
    if start is None or end is None or not state.start_ns:
        return []
    return device_log.window(lines.get(state.phone, []), start, end)


def write(out: Path, walk: Walk, device: dict[str, Any], lines: dict[str, list[device_log.LogLine]],
          clocks: dict[str, Any], scrubber: Scrubber, session: LabSession) -> Result:
    """profile.yaml, survey.json and survey.html from a finished walk."""
    from harness.phone.survey import report

    date = datetime.date.today().isoformat()
    model = device.get("model") or "unknown-model"
    build = device.get("ios_build") or "unknown-build"
    ios_version = str(device.get("ios") or walk.dut.spec.ios or "0")
    provenance = f"survey {model} {build} {date}"
    display = profile.caller_display(walk)
    if display and not any(c.isdigit() for c in display):
        scrubber.add_names([display])
    audio = [session.spec.system_log.audio_process, "audiomxd", "mediaserverd"]
    per_state: dict[str, dict[str, Any]] = {}
    for state in walk.states.values():
        slice_ = state_lines(state, lines, clocks)
        if state.folder is not None and slice_:
            state.folder.mkdir(parents=True, exist_ok=True)
            (state.folder / "log.txt").write_text("".join(x.text() + "\n" for x in slice_), encoding="utf-8")
        patterns = [p for x in device_log.interruption_lines(slice_, audio)
                    if (p := device_log.suggest_pattern(x.message)) is not None]
        per_state[state.name] = {"lines": slice_, "pattern": patterns[0] if patterns else None}
    rates = {}
    for name, (role, start, end) in walk.measures.windows.items():
        a, b = _phone_ns(clocks, role, start), _phone_ns(clocks, role, end)
        if a is not None and b is not None:
            rates[name] = round(device_log.rate(lines.get(role, []), a, b), 1)
    size = (390, 844)
    written = profile.screens(walk, size)
    problems = profile.place_actions(written)
    profile.sheet_reset_action(written)
    by_name = {w.name: w for w in written}
    for w in written:
        if w.base == "settings.bluetooth" and not profile.bluetooth_rows(w):
            w.notes.append("no paired-device rows (Connected / Not Connected) to replay")
    if "music" in by_name:
        toggled = next((w for w in written if w.name.startswith("music@")), None)
        profile.music_toggle(by_name["music"], toggled)
    m = walk.measures
    facts = profile.facts(walk, written, statistics.median(m.find_s) if m.find_s else None,
                          statistics.median(m.source_s) if m.source_s else None, rates.get("idle"))
    writer = profile.Writer(scrubber, provenance)
    major = int(ios_version.split(".")[0] or 0)
    doc: dict[str, Any] = {
        "ios": major,
        "version": ios_version,
        "extends": _nearest_shipped(major),
        "defaults": {k: v for k, (v, _why) in facts.items()},
        "screens": {w.name: writer.screen(w) for w in written},
    }
    log_section = _log_section(walk, per_state, provenance, scrubber, audio)
    if log_section:
        doc["log"] = log_section
    doc["survey"] = {
        "device": {"model": model, "model_name": device.get("model_name"), "ios": ios_version,
                   "build": build},
        "date": date,
        "provenance": provenance,
        "facts": {k: {"value": v, "seen": why} for k, (v, why) in facts.items()},
        "measured": {**walk.measures.to_json(), "log_lines_per_s": rates},
        "states": {s.name: {"status": s.status, **({"why": scrubber.text(s.why)} if s.why else {}),
                            "screen": next((w.name for w in written if w.state is s), None)}
                   for s in walk.states.values()},
        "scrubbed": dict(scrubber.counts),
        "problems": problems,
    }
    profile_path = out / "profile.yaml"
    profile_path.write_text(
        "# A phone profile written by `harness phone survey` (the virtual lab's format, see\n"
        "# harness/sim/profiles/ios16.yaml): what one real phone showed and logged. Replay it with\n"
        "# `harness sim up --phone-profile`; check the recipes against it with `harness doctor --profile`.\n"
        "# Phone numbers, Apple IDs and names are scrubbed; read it before sending it to anyone.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    states_json = []
    for state in walk.states.values():
        views = [c for c in (state.capture, *state.pages) if c is not None]
        ui = walk.phone(state.phone).ui if (state.phone != "caller" or walk.caller is not None) else None
        recipes = {}
        for table in state.recipes:
            locs = ui._ordered(table) if ui is not None else []
            results = [evaluate(locs, c.view()) for c in views]
            recipes[table] = [{"locator": loc.label, "source": loc.source,
                               "matched": any(r[i].matched for r in results),
                               "found": next((r[i].found[0].describe() for r in results if r[i].matched),
                                             None),
                               "searched": results[0][i].searched if results else None}
                              for i, loc in enumerate(locs)]
        states_json.append({
            "name": state.name, "phone": state.phone, "about": state.about, "status": state.status,
            "why": state.why, "notes": state.notes, "base": state.base,
            "screen": next((w.name for w in written if w.state is state), None),
            "folder": str(state.folder.relative_to(out)) if state.folder else None,
            "capture": state.capture.to_json() if state.capture else None,
            "pages": len(state.pages),
            "recipes": recipes,
            "live": [{"recipe": m.recipe, "locator": m.locator.label, "index": m.index, "path": m.path,
                      "retaps": m.retaps} for m in state.matches],
            "acts": [{"table": a.table, "locator": a.locator.label, "action": a.action} for a in state.acts],
            "log": [x.text() for x in per_state[state.name]["lines"]],
            "suggested_pattern": per_state[state.name]["pattern"],
        })
    summary = {"provenance": provenance, "device": doc["survey"]["device"], "date": date,
               "facts": doc["survey"]["facts"], "measured": doc["survey"]["measured"],
               "states": states_json, "problems": problems, "scrubbed": dict(scrubber.counts),
               "profile": profile_path.name}
    (out / "survey.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    html_path = out / "survey.html"
    html_path.write_text(report.render(summary), encoding="utf-8")
    return Result(out, walk.states, profile_path, html_path, facts)


def _nearest_shipped(major: int) -> int:
    """The shipped profile a surveyed one extends: the same major, else the nearest below (then above).
    The majors are the harness's own table (harness.ios.IOS_VERSIONS), which the virtual lab's
    profiles follow (tests/sim/test_profiles.py checks both agree)."""
    from harness import ios

    known = sorted(ios.IOS_VERSIONS)
    below = [m for m in known if m <= major]
    return below[-1] if below else known[0]


def _log_section(walk: Walk, per_state: dict[str, dict[str, Any]], provenance: str, scrubber: Scrubber,
                 audio: list[str]) -> dict[str, Any]:
    """The profile's ``log``: the audio daemon seen, and the call lines InCallService and
    callservicesd wrote around the calls (what the virtual phone writes when it replays a call)."""
    def lines(*names: str) -> list[device_log.LogLine]:
        return [x for n in names if n in per_state for x in per_state[n]["lines"]]

    out: dict[str, Any] = {}
    everything = lines(*per_state)
    daemons = [x for x in everything if x.process in audio]
    if daemons:
        process = max(set(x.process for x in daemons), key=lambda p: sum(x.process == p for x in daemons))
        subsystems = [x.subsystem for x in daemons if x.process == process]
        out["audio_daemon"] = {"process": process,
                               "subsystem": max(set(subsystems), key=subsystems.count) if subsystems else "",
                               "category": "", "provenance": provenance}
    ringing = [x for x in lines("incoming-app", "incoming-home", "incoming-locked")
               if x.process == "InCallService"]
    ended = [x for x in lines("ended", "declined", "in-call-locked") if x.process == "callservicesd"]
    call: dict[str, Any] = {}
    pick = {"ringing": next((x for x in ringing if "ring" in x.message.lower()),
                            ringing[0] if ringing else None),
            "audio_state": next((x for x in ringing if "audio" in x.message.lower()), None),
            "ended": next((x for x in ended if "call" in x.message.lower()), ended[0] if ended else None)}
    for key, line in pick.items():
        if line is not None:
            call[key] = {"process": line.process, "message": scrubber.text(line.message.splitlines()[0]),
                         "provenance": provenance}
    if call:
        out["call"] = call
    return out
