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

    from harness.device import Device, use_usbmuxd
    from harness.errors import UsageError
    from harness.lab.schema import Lab
    from harness.loop import LoopThread
    from harness.phone.dump import dump
    from harness.phone.recipes import Phone

    udid, wda_port, name = args.device, 8100, args.device
    if args.lab:
        lab = Lab.load(args.lab)
        spec = lab.device(args.device)
        udid, wda_port, name = spec.udid, spec.wda_port, spec.name
        if lab.usbmuxd:
            use_usbmuxd(lab.usbmuxd)
    elif len(udid) < 24:
        raise UsageError(f"--device {udid!r}: without --lab give the phone's UDID (see `harness devices`)")
    with LoopThread() as loop:
        device = loop.run(Device.open(udid))
        forward = loop.run(device.forward(wda_port).start())
        try:
            phone = Phone(forward.url, name=name)
            rows = dump(phone, Path(args.out))
        finally:
            loop.run(forward.stop())
            loop.run(device.close())
    width = max(len(r[0]) for r in rows)
    for screen, status, png in rows:
        print(f"{screen:<{width}}  {status:<8}  {png}")
    print(f"saved {len(rows)} screens (source .xml beside each .png) in {args.out}")
    return 0
