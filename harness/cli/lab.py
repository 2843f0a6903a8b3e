"""``harness lab init``: write a first lab.yaml from the iPhones usbmuxd lists.

Each phone gets its name, UDID, model, iOS version and a role (``--dut``, ``--caller``, or asked on a
terminal); its number (``--number``, else its SIM's), Apple ID (``--apple-id``) and WDA runner
(``--wda-runner``, else the one installed). What no phone reports (the app, the audio rig, the
peer's address, accessories) is left as commented placeholders. Never overwrites without ``--force``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("lab", help="set up a lab file (lab init)",
                              description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    init = actions.add_parser("init", help="write lab.yaml from the attached iPhones",
                              description=__doc__.split("\n\n")[1])
    init.add_argument("--usbmuxd", metavar="ADDRESS",
                      help="usbmuxd to ask: a socket path or HOST:PORT (a Mac's usbmuxd over TCP); "
                           "default: USBMUXD_SOCKET_ADDRESS or the system usbmuxd. Written to the file.")
    init.add_argument("--dut", metavar="NAME|UDID", help="the phone under test (the app runs on it)")
    init.add_argument("--caller", metavar="NAME|UDID", action="append", default=[],
                      help="a phone that calls the DUT (repeat for more)")
    init.add_argument("--number", metavar="PHONE=+E164", action="append", default=[],
                      help='a phone\'s number, e.g. --number dut=+15550100001 (PHONE: name, UDID, "dut" or '
                           '"caller"; default: the number its SIM reports)')
    init.add_argument("--apple-id", metavar="PHONE=ADDRESS", action="append", default=[],
                      help="the Apple ID FaceTime uses on a phone, e.g. --apple-id dut=qa@example.com")
    init.add_argument("--wda-runner", metavar="BUNDLE_ID",
                      help="the signed WebDriverAgent runner's bundle id on every phone (default: the one "
                           "*.xctrunner app installed on each)")
    init.add_argument("--wda-launch", choices=("xcuitest", "external"),
                      help="xcuitest: the harness starts the runner; external: WDA is started elsewhere "
                           "(default: xcuitest where a runner is known)")
    init.add_argument("--out", default="lab.yaml", metavar="PATH",
                      help="where to write it (default lab.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    init.add_argument("--timeout", type=float, default=15.0, metavar="S",
                      help="deadline per phone operation in seconds (default 15)")
    init.set_defaults(func=run_init)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def run_init(args: argparse.Namespace) -> int:
    from harness.device.errors import DEVICE_GONE, FIX_CABLE, DeviceFault
    from harness.device.usbmux import use_usbmuxd
    from harness.errors import UsageError
    from harness.lab import discover

    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name the file, e.g. --out {out / 'lab.yaml'}")
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; pass --force to overwrite it, or --out ANOTHER.yaml")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive (got {args.timeout:g})")
    address = use_usbmuxd(args.usbmuxd)
    phones = asyncio.run(discover.discover(args.timeout))
    if not phones:
        raise DeviceFault(f"no iPhones attached to usbmuxd at {address}; fix: {FIX_CABLE} (on a Mac-hosted "
                          "lab: --usbmuxd MAC:PORT)", DEVICE_GONE)
    interactive = sys.stdin.isatty() and args.dut is None
    ask = _ask if interactive else None
    choices = discover.assign(phones, dut=args.dut, callers=args.caller, ask=ask)
    discover.apply_options(choices, numbers=args.number, apple_ids=args.apple_id, runner=args.wda_runner,
                           launch=args.wda_launch)
    chosen = {c.found.udid for c in choices}
    others = [p for p in phones if p.udid not in chosen]
    usbmuxd = args.usbmuxd or (address if address != _system() else None)
    text = discover.render(choices, usbmuxd=usbmuxd, others=others)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"wrote {out}: " + ", ".join(f"{c.role} {c.found.name or c.found.udid}" for c in choices))
    for p in others:
        print(f"  left out: {p.name or '?'} ({p.udid}) (add it with --caller)")
    for c in choices:
        if c.found.problem:
            print(f"  {c.found.name or c.found.udid}: {c.found.problem}")
    print(f"next: edit the placeholders in {out}, then `harness doctor --lab {out}`")
    return 0


def _system() -> str:
    from harness.device.usbmux import SYSTEM_ADDRESS

    return SYSTEM_ADDRESS


def _ask(phone: Any, have_dut: bool) -> str:
    """Ask on the terminal which role ``phone`` plays (the answer is dut, caller or skip)."""
    default = "caller" if have_dut else "dut"
    model = phone.model or phone.product_type or "?"
    what = f"{phone.name or '?'} ({phone.udid}, {model}, iOS {phone.ios or '?'})"
    while True:
        print(f"{what}: role [dut/caller/skip] ({default}): ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            from harness.errors import UsageError

            raise UsageError("no answer on the terminal; pass --dut NAME|UDID and --caller NAME|UDID")
        answer = line.strip().lower() or default
        if answer in ("dut", "caller"):
            return answer
        if answer in ("skip", "s", "no", "n"):
            return ""
        print("  answer dut, caller or skip", file=sys.stderr)
