"""``harness phone survey``: walk a lab's DUT and caller through every state the catalog needs and
write what they showed (a phone profile, a report, the raw files); ``harness phone dump``: one
phone's screens that need no second phone (the survey supersedes it)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phone", help="phone UI tools (survey a real phone; dump the screens the recipes use)")
    actions = p.add_subparsers(dest="phone_command", metavar="ACTION")
    s = actions.add_parser(
        "survey", help="walk the DUT and the caller through every state the catalog needs; write "
        "DIR/profile.yaml, DIR/survey.html and the raw files",
        description="Walk a lab's DUT and caller through every state the catalog needs (home, lock, "
        "the dial prompt, incoming calls in front of an app / on the home screen / locked, answered, "
        "in the call, ended, declined, Siri, a timer, Control Center, Settings, Music) and save what "
        "each showed: DIR/profile.yaml (a phone profile: `harness doctor --profile`, `harness sim up "
        "--phone-profile`), DIR/survey.html (per state: screenshot, locators matched, log lines, a "
        "suggested system_log pattern), DIR/raw/. No app is needed.")
    s.add_argument("--lab", required=True, help="lab.yaml")
    s.add_argument("--device", required=True, help="the DUT: name or UDID from the lab file")
    s.add_argument("--caller", required=True,
                   help="the phone that calls the DUT: name or UDID from the lab file")
    s.add_argument("--out", required=True, help="folder for profile.yaml, survey.html, survey.json and raw/ "
                   "(empty, or an earlier survey's)")
    s.add_argument("--confirm-reset", action="store_true",
                   help="confirm Reset Media Services' sheet (default: record it and cancel, so a real "
                   "phone's media services are not reset)")
    s.add_argument("--log-window", type=float, default=10.0, metavar="S",
                   help="seconds the device log's rate is measured idle and in a call (default 10)")
    s.add_argument("--timer", type=int, default=8, metavar="S",
                   help="the timer the survey sets through Siri, in seconds (default 8)")
    s.set_defaults(func=run_survey)
    d = actions.add_parser("dump", help="walk a phone through each recipe screen; save source and screenshot")
    d.add_argument("--device", required=True, help="phone name or UDID from the lab file")
    d.add_argument("--lab", help="lab.yaml (default: USBMUXD_SOCKET_ADDRESS or the system usbmuxd)")
    d.add_argument("--out", default="phone-dump", help="folder for <ios>-<screen>.png/.xml")
    d.set_defaults(func=run_dump)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_survey(args: argparse.Namespace) -> int:
    import math
    from pathlib import Path

    from harness.errors import UsageError
    from harness.phone import survey
    from harness.session import LabSession

    if not (math.isfinite(args.log_window) and 1.0 <= args.log_window <= 300.0):
        raise UsageError(f"--log-window must be 1 to 300 seconds, not {args.log_window}")
    if not 3 <= args.timer <= 600:
        raise UsageError(f"--timer must be 3 to 600 seconds, not {args.timer}")
    lab = LabSession.open(args.lab)
    with lab:
        dut = lab.spec.device(args.device)
        caller = lab.spec.device(args.caller)
        if caller.udid == dut.udid:
            raise UsageError(f"--caller {args.caller} is the DUT itself; give the lab's other phone")
        survey.prepare(Path(args.out))  # a wrong --out before any phone is touched
        result = survey.run(lab, dut, caller, Path(args.out), confirm_reset=args.confirm_reset,
                            log_window_s=args.log_window, timer_s=args.timer)
    unreachable = [s for s in result.states.values() if not s.reached]
    print(f"{result.reached} of {len(result.states)} states reached"
          + (f"; unreachable: {', '.join(s.name for s in unreachable)}" if unreachable else ""))
    if result.facts:
        print("this phone: " + ", ".join(f"{k}={v}" for k, (v, _why) in sorted(result.facts.items())))
    print(f"profile: {result.profile_path}\nreport:  {result.html_path}")
    print(f"next: harness doctor --profile {result.profile_path} --lab {args.lab}")
    return 0


def run_dump(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.errors import UsageError
    from harness.lab.schema import Device, Lab
    from harness.phone.dump import dump
    from harness.session import LabSession

    if args.lab:
        lab = LabSession.open(args.lab)
        spec = lab.spec.device(args.device)
    else:  # a phone on this host's usbmuxd (or USBMUXD_SOCKET_ADDRESS), WDA on its default port
        try:
            spec = Device(name=args.device, udid=args.device, role="dut")
        except ValueError:
            raise UsageError(f"--device {args.device!r}: without --lab give the phone's UDID "
                             "(see `harness devices`)") from None
        lab = LabSession.from_spec(Lab(devices=[spec]))
    out = Path(args.out)
    with lab:
        phone = lab.open_phone(spec, None, out)
        try:
            rows = dump(phone.ui, out)
        finally:
            lab.close_phone(phone)
    width = max(len(r[0]) for r in rows)
    for screen, status, png in rows:
        print(f"{screen:<{width}}  {status:<8}  {png}")
    print(f"saved {len(rows)} screens (source .xml beside each .png) in {args.out}")
    return 0
