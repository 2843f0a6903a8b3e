"""``harness sim up`` / ``harness sim down``: run the virtual iPhone lab in the foreground;
``harness sim variants``: what the virtual phones can be switched between, with the evidence."""

from __future__ import annotations

import argparse
import time
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the virtual iPhone lab",
        description="Run the virtual iPhone lab (usbmuxd, lockdownd, WDA, audio).",
    )
    sub = parser.add_subparsers(dest="sim_command", metavar="ACTION")
    up = sub.add_parser(
        "up", help="run the virtual lab in the foreground until Ctrl-C, SIGTERM or `sim down`"
    )
    up.add_argument(
        "--phones", type=int, default=2, help="number of virtual phones (the first --duts are DUTs; "
        "default 2)"
    )
    up.add_argument(
        "--duts", type=int, default=1,
        help="how many of the phones are DUTs, the rest callers (default 1; one per pytest-xdist worker)",
    )
    up.add_argument(
        "--ios",
        default=None,
        help="comma-separated iOS versions, cycled over the phones (e.g. 17.5,18.2; default 17.5.1, or "
        "the --phone-profile's version)",
    )
    up.add_argument("--state-dir", default=".harness/sim", help="where lab.yaml and sim.json go")
    up.add_argument(
        "--usbmuxd",
        default=None,
        help="usbmuxd address: a socket path or HOST:PORT (default STATE_DIR/usbmuxd.sock)",
    )
    up.add_argument(
        "--system-socket",
        action="store_true",
        help="also listen on /var/run/usbmuxd when it is free (for tools hard-wired to it)",
    )
    up.add_argument(
        "--extensions",
        default="auto",
        help="lab parts to load: auto (every built one: WDA, SpringBoard, audio, voice app), none "
        "(usbmuxd/lockdownd only), or a comma-separated list of modules",
    )
    up.add_argument("--control-port", type=int, default=0, help="control API port (default: any free port)")
    up.add_argument("--defect", default=None, help="switch on this playbook defect in the voice app")
    up.add_argument("--app-logging", choices=("on", "off"), default="on",
                    help="whether the voice app writes HARNESS-EVENT lines to the device log")
    up.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE|field",
                    help="a variant of every phone (repeatable; `field` = every variant's most hostile "
                    "plausible value, later NAME=VALUE override it); see `harness sim variants`")
    up.add_argument("--phone-profile", metavar="PROFILE_YAML",
                    help="every phone shows and logs what this profile holds instead of its iOS major's "
                    "shipped one: a real phone's, from `harness phone survey --out DIR` (DIR/profile.yaml); "
                    "its surveyed variant values become the phones' defaults")
    up.set_defaults(func=run_up)
    variants = sub.add_parser("variants", help="list the phones' variants, their values and the evidence",
                              description="Every point the public evidence leaves open about a real "
                              "iPhone, as a variant of the virtual phone: its values, the evidence for "
                              "each, its default per iOS major and its field value.")
    variants.add_argument("--json", action="store_true", help="one JSON object per variant value")
    variants.set_defaults(func=run_variants)
    down = sub.add_parser("down", help="stop the lab started with the same --state-dir")
    down.add_argument("--state-dir", default=".harness/sim")
    down.add_argument("--timeout", type=float, default=20.0)
    down.set_defaults(func=run_down)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_up(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    from pathlib import Path

    from harness.errors import UsageError
    from harness.sim.lab import LabConfig, VirtualLab
    from harness.sim.state import clear_state, pid_alive, read_state, write_state

    state_dir = Path(args.state_dir).resolve()
    previous = read_state(state_dir)
    if previous and pid_alive(int(previous.get("pid", 0))):
        raise UsageError(
            f"a virtual lab (pid {previous['pid']}) already runs with state dir {state_dir}; "
            f"stop it with `harness sim down --state-dir {args.state_dir}`"
        )
    from harness.sim.lab import DEFAULT_EXTENSIONS

    profile = _known_phone_profile(args.phone_profile) if args.phone_profile else None
    ios = args.ios or (profile.version if profile is not None else "17.5.1")
    versions = [v.strip() for v in str(ios).split(",") if v.strip()]
    if profile is not None and any(v.split(".")[0].strip() != str(profile.ios) for v in versions):
        raise UsageError(f"--ios {args.ios}: the phones replaying --phone-profile run its iOS {profile.ios} "
                         f"({profile.version}); drop --ios or give {profile.ios}.x versions")
    if args.extensions == "auto":
        extensions = DEFAULT_EXTENSIONS
    elif args.extensions == "none":
        extensions = ()
    else:
        extensions = tuple(e.strip() for e in args.extensions.split(",") if e.strip())
    from harness.sim import variants as sim_variants

    chosen = sim_variants.parse(args.variant)
    if chosen.get("phone_network") == "lan-only":
        from harness.sim.network import lan_address

        if lan_address() is None:
            raise UsageError("--variant phone_network=lan-only needs a non-loopback address on this machine "
                             "(the phones reach the lab host on it); none found: drop the variant")
    config = LabConfig.default(
        args.phones,
        versions,
        duts=args.duts,
        state_dir=state_dir,
        usbmuxd_address=args.usbmuxd,
        system_socket=args.system_socket,
        control_port=args.control_port,
        extensions=extensions,
        app_defect=_known_defect(args.defect),
        app_logging=args.app_logging == "on",
        variants=chosen,
        phone_profile=str(Path(args.phone_profile).resolve()) if args.phone_profile else None,
    )

    async def main() -> None:
        lab = VirtualLab(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lab.stopped.set)
        await lab.start()
        try:
            lab_path, sim_path = write_state(lab)
            print(f"virtual lab up: {len(lab.phones)} phone(s), usbmuxd at {lab.usbmuxd_address}", flush=True)
            if chosen:
                print("variants: " + ", ".join(f"{k}={v}" for k, v in sorted(chosen.items())), flush=True)
            if profile is not None:
                print(f"phone profile: {args.phone_profile} (iOS {profile.version}; surveyed values: "
                      + (", ".join(f"{k}={v}" for k, v in sorted(profile.defaults.items())) or "none")
                      + ")", flush=True)
            for phone in lab.phones.values():
                print(
                    f"  {phone.role:6} {phone.name}  {phone.udid}  iOS {phone.ios_version}  "
                    f"WDA {phone.wda_url}",
                    flush=True,
                )
            print(f"lab file: {lab_path}\nstate:    {sim_path}\ncontrol:  {lab.control_url}", flush=True)
            print(f"use: export USBMUXD_SOCKET_ADDRESS={lab.usbmuxd_address}", flush=True)
            await lab.stopped.wait()
        finally:
            clear_state(state_dir)
            await lab.stop()
            print("virtual lab stopped", flush=True)

    asyncio.run(main())
    return 0


def run_variants(args: argparse.Namespace) -> int:
    import json

    from harness.sim import variants as sim_variants

    text = ("\n".join(json.dumps(row) for row in sim_variants.table_rows()) if args.json
            else sim_variants.render_table())
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def run_down(args: argparse.Namespace) -> int:
    """Stop the lab whose sim.json is in --state-dir, after checking that its pid is that lab (a
    stale sim.json's pid may be recycled by any process): never a signal to pid <= 1 or to a
    process whose start time or command line differ from the recorded ones."""
    import json
    import math
    import os
    import signal
    from pathlib import Path

    from harness.errors import LabFault, UsageError
    from harness.sim.state import SIM_JSON, foreign_process, pid_alive

    if not math.isfinite(args.timeout) or not 0 < args.timeout <= 600:
        raise UsageError(f"--timeout must be more than 0 and at most 600 seconds, not {args.timeout}")
    state_dir = Path(args.state_dir)
    if state_dir.exists() and not state_dir.is_dir():
        raise UsageError(f"--state-dir {state_dir}: not a folder; give the --state-dir of `harness sim up`")
    path = state_dir / SIM_JSON
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no virtual lab runs with state dir {state_dir} (no {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc}); remove it if no lab runs") from None
    try:
        state = json.loads(text)
    except ValueError:
        raise UsageError(f"{path}: not JSON (a damaged file?); remove it if no lab runs") from None
    if not isinstance(state, dict):
        raise UsageError(f"{path}: not a JSON object; remove it if no lab runs")
    pid = state.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise UsageError(f"{path}: 'pid' is {pid!r}, not a process id; remove it if no lab runs")
    if pid <= 1:
        raise UsageError(f"{path}: pid {pid} is no lab's (signalling it would reach every process or "
                         "init); remove the file")
    if not pid_alive(pid):
        path.unlink(missing_ok=True)
        print(f"virtual lab (pid {pid}) was not running; removed its stale sim.json")
        return 0
    foreign = foreign_process(state, state_dir)
    if foreign is not None:
        path.unlink(missing_ok=True)
        print(f"virtual lab (pid {pid}) was not running: {foreign}; left it alone and removed the stale "
              "sim.json")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) or not path.exists():
            print(f"virtual lab (pid {pid}) stopped")
            return 0
        time.sleep(0.05)
    raise LabFault(f"virtual lab (pid {pid}) did not stop within {args.timeout:.0f} s", tag="sim-stop")


def _known_defect(name: str | None) -> str | None:
    """The defect's name when the public catalog knows it (harness.verdicts.defects), else UsageError."""
    from harness.verdicts.defects import known_defect

    return known_defect(name).name if name else None


def _known_phone_profile(path: str) -> Any:
    """The profile file ``--phone-profile`` names, loaded and checked (UsageError naming the problem)."""
    from harness.errors import UsageError
    from harness.sim.profiles import ProfileError, load_file

    try:
        return load_file(path)
    except ProfileError as exc:
        raise UsageError(f"--phone-profile: {exc}; give the profile.yaml a survey wrote (`harness phone "
                         "survey --out DIR` writes DIR/profile.yaml)") from None


def _known_variants(items: list[str]) -> dict[str, str]:
    """UsageError naming a bad ``--sim-variant`` before anything starts; the chosen values otherwise."""
    from harness.sim import variants as sim_variants

    return sim_variants.parse(items, "--sim-variant")


def _known_virtual_device(key: str, duts: int) -> None:
    """UsageError unless ``key`` names (or is the UDID of) a phone of the virtual lab a run with
    ``duts`` DUTs starts: checked before the lab starts and before --out is emptied."""
    from harness.errors import UsageError
    from harness.sim.lab import LabConfig
    from harness.sim.phone import VirtualPhone

    specs = LabConfig.default(phones=2 * duts, duts=duts).phones
    for index, spec in enumerate(specs):
        if key in (spec.name, VirtualPhone.stable_identity(spec.name, spec.model, index)[1]):
            return
    raise UsageError(f"no device {key!r} in the virtual lab; known: {', '.join(s.name for s in specs)}")
