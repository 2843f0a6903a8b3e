"""``harness devices``: the phones usbmuxd sees, one line each.

Columns: name, UDID, model, iOS, battery, Developer Mode, WDA reachable. With ``--lab`` the lab
file's usbmuxd is used and its phones that are not attached are listed too. Never pairs: an
unpaired phone shows what it gives without a session.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import Any

COLUMNS = ("NAME", "UDID", "MODEL", "iOS", "BATTERY", "DEV MODE", "WDA", "NOTE")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("devices",
                              help="list the attached iPhones (name, UDID, model, iOS, battery, WDA)",
                              description=__doc__.split("\n\n")[0])
    add_lab_options(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def add_lab_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lab", metavar="LAB_YAML",
                   help="lab file (its usbmuxd address and phones); default: USBMUXD_SOCKET_ADDRESS "
                        "or the system usbmuxd")
    p.add_argument("--timeout", type=float, default=15.0, metavar="S",
                   help="deadline per phone operation in seconds (default 15)")


def setup_lab(args: argparse.Namespace) -> Any:
    """Load --lab (UsageError on a bad file) and point pymobiledevice3 at its usbmuxd; the Lab or None.

    Every input is checked before usbmuxd is touched: the timeout, the lab file, and an address
    taken from ``USBMUXD_SOCKET_ADDRESS`` (which pymobiledevice3 would otherwise fail on deep inside).
    """
    import math
    import os

    from harness.device.usbmux import ENV, use_usbmuxd
    from harness.errors import UsageError
    from harness.lab.schema import usbmuxd_address_problem

    if not math.isfinite(args.timeout) or not 0.1 <= args.timeout <= 3600:
        raise UsageError(f"--timeout must be 0.1 to 3600 seconds (got {args.timeout:g})")
    lab = None
    if args.lab:
        from harness.lab.schema import Lab

        lab = Lab.load(args.lab)
    if lab is None or not lab.usbmuxd:
        env = os.environ.get(ENV)
        problem = usbmuxd_address_problem(env) if env is not None else None
        if problem:
            raise UsageError(f"{ENV}: {problem}; fix or unset it")
    if lab is not None:
        use_usbmuxd(lab.usbmuxd)
    return lab


@dataclass
class Row:
    udid: str
    name: str = ""
    model: str = ""
    ios: str = ""
    battery: str = ""
    developer_mode: str = ""
    wda: str = ""
    notes: list[str] = field(default_factory=list)

    def cells(self) -> tuple[str, ...]:
        return (self.name or "-", self.udid, self.model or "-", self.ios or "-", self.battery or "-",
                self.developer_mode or "-", self.wda or "-", "; ".join(self.notes))


async def describe(udid: str, timeout: float) -> Row:
    from harness.device.errors import DeviceFault
    from harness.device.info import read_info
    from harness.device.lockdown import Timeouts, connect_unpaired
    from harness.device.wda_launcher import wda_status

    row = Row(udid)
    timeouts = Timeouts(connect=timeout, query=timeout, port_connect=min(timeout, 5.0))
    try:
        lockdown = await connect_unpaired(udid, timeouts)
    except DeviceFault as exc:
        row.notes.append(f"{exc.tag}: {_fix(exc)}")
        return row
    try:
        try:
            info = await read_info(lockdown, udid, timeout=timeout)
        except DeviceFault as exc:
            row.notes.append(exc.tag)
        else:
            row.name, row.model, row.ios = info.name, info.model, info.ios
            if info.battery_level is not None:
                row.battery = f"{info.battery_level}%" + (" charging" if info.charging else "")
            if info.developer_mode is not None:
                row.developer_mode = "on" if info.developer_mode else "off"
            elif info.ios and int(info.ios.split(".")[0]) < 16:
                row.developer_mode = "n/a"
            if not info.paired:
                row.notes.append("not paired: run `harness doctor` for the fix")
        if lockdown.paired:
            try:
                status = await wda_status(lockdown, udid, timeout=timeouts.port_connect)
                row.wda = "yes" if status.ok else "no"
            except DeviceFault as exc:
                row.wda = "?"
                row.notes.append(exc.tag)
    finally:
        await lockdown.close()
    return row


def _fix(exc: Exception) -> str:
    text = str(exc)
    return text.split("; fix: ", 1)[1] if "; fix: " in text else text


async def collect(lab: Any, timeout: float) -> list[Row]:
    from harness.device.usbmux import list_devices, matches

    attached = await list_devices(min(timeout, 5.0))
    rows = await asyncio.gather(*(describe(a.udid, timeout) for a in attached))
    if lab is not None:
        for row in rows:
            known = next((d for d in lab.devices if matches(d.udid, row.udid)), None)
            if known is None:
                row.notes.append("not in the lab file")
            elif row.name and row.name != known.name:
                row.notes.append(f"lab name: {known.name}")
            elif not row.name:
                row.name = known.name
        for d in lab.devices:
            if not any(matches(d.udid, r.udid) for r in rows):
                rows.append(Row(d.udid, name=d.name, ios=d.ios or "", notes=["not attached"]))
    return list(rows)


def render(rows: list[Row]) -> str:
    table = [COLUMNS, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in table]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from harness.device.usbmux import usbmuxd_address

    lab = setup_lab(args)
    rows = asyncio.run(collect(lab, args.timeout))
    if args.json:
        print(json.dumps([{**r.__dict__} for r in rows], indent=2))
        return 0
    if not rows:
        print(f"no iPhones attached to usbmuxd at {usbmuxd_address()}", file=sys.stderr)
        return 0
    print(render(rows))
    return 0
