"""``harness phone dump``: save each recipe screen's source and screenshot from one phone."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phone", help="phone UI tools (dump the screens the recipes use)")
    actions = p.add_subparsers(dest="phone_command", metavar="ACTION")
    d = actions.add_parser("dump", help="walk a phone through each recipe screen; save source and screenshot")
    d.add_argument("--device", required=True, help="phone name or UDID from the lab file")
    d.add_argument("--lab", help="lab.yaml (default: USBMUXD_SOCKET_ADDRESS or the system usbmuxd)")
    d.add_argument("--out", default="phone-dump", help="folder for <ios>-<screen>.png/.xml")
    d.set_defaults(func=run_dump)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


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
