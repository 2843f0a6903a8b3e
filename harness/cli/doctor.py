"""``harness doctor [--device NAME|UDID]``: what each lab phone needs, and the fix for every miss.

Exit 0 when nothing failed, 3 when a phone misses something it needs (a lab fault). Items that no
phone service reports (Siri, Auto-Lock, Focus, Live Voicemail, unknown-caller screening, Incoming
Calls style, the caller as a contact, Music content, app permissions) are listed "by hand" with
where to confirm them; they never fail the run.

``--profile PROFILE_YAML`` checks the recipes instead of the phones: for every recipe table, which
of its locators (the lab file's own first, with ``--lab``) matches each screen of a phone profile
(``harness phone survey`` writes one from a real phone); a recipe whose screen is there but matched
by none is a failed check naming the screen and its candidate elements. No phone is needed.

Once a run has kept captures (its report folder, ``--captures OUT``; default ``./out`` when it is
one), each route's polarity is listed per phone: a capture chain that inverts the signal is a
property of the rig (the analyzer corrects it), never a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from harness.cli.devices import add_lab_options, setup_lab

POLARITY_TEXT = {"normal": "normal", "inverted": "INVERTED: the capture chain flips the signal (handled by "
                 "the analyzer; check the adapter or preamp if unexpected)"}
MARKS = {"ok": "ok", "fail": "FAIL", "warn": "warn", "by hand": "by hand", "unknown": "?", "n/a": "n/a"}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("doctor", help="check each lab iPhone has what a run needs, with fixes",
                              description=__doc__.split("\n\n")[0])
    add_lab_options(p)
    p.add_argument("--device", metavar="NAME|UDID", help="check only this phone")
    p.add_argument("--min-battery", type=int, default=30, metavar="PCT",
                   help="lowest battery level that passes without a charger (default 30)")
    p.add_argument("--captures", metavar="OUT",
                   help="a run's report folder whose route captures give each route's polarity "
                        "(default: ./out when it holds a report)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--profile", metavar="PROFILE_YAML",
                   help="check the recipes' locators against a phone profile's screens (from `harness "
                   "phone survey`; with --lab, the lab file's own locators first) instead of the phones")
    p.set_defaults(func=run)


def polarity_section(captures: str | None) -> tuple[list[dict[str, Any]], str]:
    """Each route's polarity from a report folder's captures, and its text for the report."""
    from pathlib import Path

    from harness.errors import UsageError
    from harness.report.rig_polarity import route_polarities

    if captures is None:
        default = Path("out")
        if not ((default / "results.json").is_file() or (default / "progress.jsonl").is_file()):
            return [], ("route polarity: no captures yet (run `harness run`, or pass --captures with a "
                        "run's report folder)")
        captures = str(default)
    if not Path(captures).is_dir():
        raise UsageError(f"--captures {captures}: not a folder; give a `harness run` report folder")
    rows = route_polarities(captures)
    if not rows:
        return [], f"route polarity: {captures} holds no route captures"
    lines = [f"route polarity (newest capture that holds the downlink, per phone and route, in {captures}):"]
    for r in rows:
        what = POLARITY_TEXT.get(str(r.polarity), "unknown: no downlink probe in it")
        lines.append(f"  {r.device or '?'} {r.route}: {what}  ({r.test})")
    return [r.to_dict() for r in rows], "\n".join(lines)


async def _targets(lab: Any, device: str | None, timeout: float) -> list[tuple[str, str]]:
    """(udid, lab name) pairs to examine."""
    from harness.device.usbmux import list_devices, matches
    from harness.errors import UsageError

    attached = await list_devices(min(timeout, 5.0))
    if lab is not None:
        devices = [lab.device(device)] if device else list(lab.devices)
        return [(d.udid, d.name) for d in devices]
    if device:
        hit = [a for a in attached if matches(a.udid, device)]
        if hit:
            return [(hit[0].udid, "")]
        names = await _names(attached, timeout)
        by_name = [u for u, n in names.items() if n == device]
        if by_name:
            return [(by_name[0], device)]
        known = ", ".join(f"{n} ({u})" for u, n in names.items()) or "none attached"
        raise UsageError(f"no attached iPhone named or with UDID {device!r}; attached: {known}")
    return [(a.udid, "") for a in attached]


async def _names(attached: list[Any], timeout: float) -> dict[str, str]:
    from harness.device.errors import DeviceFault
    from harness.device.lockdown import Timeouts, connect_unpaired

    names: dict[str, str] = {}
    for a in attached:
        try:
            lockdown = await connect_unpaired(a.udid, Timeouts(connect=timeout))
        except DeviceFault:
            names[a.udid] = ""
            continue
        names[a.udid] = str(lockdown.all_values.get("DeviceName", ""))
        await lockdown.close()
    return names


async def examine(lab: Any, device: str | None, timeout: float, min_battery: int) -> list[dict[str, Any]]:
    from harness.device.doctor import evaluate, gather
    from harness.device.lockdown import Timeouts

    targets = await _targets(lab, device, timeout)
    bundle_id = lab.app.bundle_id if lab is not None and lab.app is not None else None
    timeouts = Timeouts(connect=timeout, query=timeout, port_connect=min(timeout, 5.0))
    callers = tuple(d.phone_number for d in lab.role("caller") if d.phone_number) if lab is not None else ()
    facts = await asyncio.gather(*(gather(udid, bundle_id=bundle_id, timeouts=timeouts, name=name,
                                          wda_port=_wda_port(lab, udid), spec=_spec(lab, udid),
                                          caller_numbers=callers) for udid, name in targets))
    reports = []
    for f in facts:
        info = f.info
        reports.append({
            "udid": f.udid,
            "name": (info.name if info and info.name else f.name) or f.udid,
            "lab_name": f.name,
            "ios": info.ios if info else "",
            "model": info.model if info else "",
            "checks": [c.to_dict() for c in evaluate(f, min_battery=min_battery)],
        })
    return reports


def _wda_port(lab: Any, udid: str) -> int:
    spec = _spec(lab, udid)
    return spec.wda_port if spec is not None else 8100


def _spec(lab: Any, udid: str) -> Any:
    """The phone's entry in the lab file, or None."""
    if lab is None:
        return None
    return next((d for d in lab.devices if d.udid == udid), None)


def render(reports: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for r in reports:
        head = f"{r['name']} ({r['udid']})"
        if r["ios"]:
            head += f"  iOS {r['ios']}  {r['model']}"
        out.append(head)
        width = max(len(MARKS[c["status"]]) for c in r["checks"])
        for c in r["checks"]:
            line = f"  {MARKS[c['status']].ljust(width)}  {c['title']}: {c['detail']}"
            if c["fix"] and c["status"] != "ok":
                line += f"\n  {' ' * width}    {'check' if c['status'] == 'by hand' else 'fix'}: {c['fix']}"
            out.append(line)
        failed = sum(c["status"] == "fail" for c in r["checks"])
        manual = sum(c["status"] == "by hand" for c in r["checks"])
        out.append(f"  => {'READY' if not failed else f'{failed} to fix'}"
                   f"{f', {manual} to confirm by hand' if manual else ''}")
        out.append("")
    return "\n".join(out).rstrip()


def run_profile(args: argparse.Namespace) -> int:
    """``harness doctor --profile``: every recipe against a phone profile; 3 when one misses."""
    from harness.errors import ExitCode
    from harness.lab.schema import Lab
    from harness.phone.locators import lab_tables
    from harness.phone.profile_check import check_profile

    lab = Lab.load(args.lab) if args.lab else None
    tables = lab_tables(lab.locator_specs()) if lab is not None else None
    profile, checks = check_profile(args.profile, tables)
    survey = profile.raw.get("survey") or {}
    device = survey.get("device") or {}
    report = {"name": "phone profile", "udid": str(args.profile), "lab_name": "",
              "ios": str(profile.raw.get("version", "")),
              "model": str(device.get("model") or ""), "checks": [c.to_dict() for c in checks]}
    if args.json:
        print(json.dumps([report], indent=2))
    else:
        print(render([report]))
        if lab is None:
            print("\n(without --lab: the harness's own locators only)")
    failed = any(c.status == "fail" for c in checks)
    return int(ExitCode.LAB_FAULT if failed else ExitCode.PASS)


def run(args: argparse.Namespace) -> int:
    from harness.device.usbmux import SYSTEM_ADDRESS, usbmuxd_address
    from harness.errors import ExitCode, UsageError

    if args.profile:
        if args.device or args.captures:
            raise UsageError("--profile checks a profile, not phones: drop --device and --captures")
        return run_profile(args)

    if not 0 <= args.min_battery <= 100:
        raise UsageError(f"--min-battery must be 0..100 (got {args.min_battery})")
    lab = setup_lab(args)
    if lab is not None and args.device:
        lab.device(args.device)  # an unknown name is the user's mistake, before usbmuxd is asked
    if args.captures is not None:
        from pathlib import Path

        if not Path(args.captures).is_dir():
            raise UsageError(f"--captures {args.captures}: not a folder; give a `harness run` report folder")
    reports = asyncio.run(examine(lab, args.device, args.timeout, args.min_battery))
    polarity, polarity_text = polarity_section(args.captures)
    if args.json:
        for r in reports:
            r["route_polarity"] = [p for p in polarity if p["device"] in (r["lab_name"], r["name"])]
        print(json.dumps(reports, indent=2))
    elif not reports:
        print(f"no iPhones attached to usbmuxd at {usbmuxd_address()}")
        print(polarity_text)
        return int(ExitCode.LAB_FAULT)
    else:
        print(render(reports))
        if usbmuxd_address() != SYSTEM_ADDRESS:
            print(f"\nusbmuxd: {usbmuxd_address()} (the pymobiledevice3 commands above reach it with "
                  f"USBMUXD_SOCKET_ADDRESS={usbmuxd_address()} set, or --usbmux {usbmuxd_address()})")
        print()
        print(polarity_text)
    failed = any(c["status"] == "fail" for r in reports for c in r["checks"])
    return int(ExitCode.LAB_FAULT if failed else ExitCode.PASS)
