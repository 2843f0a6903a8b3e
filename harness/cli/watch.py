"""``harness watch --device NAME``: record while a person interrupts the call by hand.

Starts what a scenario has (the WHIP peer, the route captures and the mouth, the device log, one
timeline), launches the lab's app on the phone with the call's URL and token (or prints them with
``--no-launch``), then waits. The person calls the phone, asks Siri, pulls a Bluetooth headset...
Ctrl-C (SIGINT) or SIGTERM ends the watch; the report (``results.json``, ``index.html`` with the
timeline and level plots) is then written into ``--out``. Exit 0, or 3 when the lab failed under
the watch (the device log stream was lost, a capture stalled for good).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness import contract
from harness.cli.run import add_lab_options, check_lab_options, lab_for_run, prepare_out
from harness.errors import UsageError

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="record peer, captures, device log and timeline while you interrupt "
                       "the call by hand; report on Ctrl-C",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    add_lab_options(p)
    p.add_argument("--out", default="watch", help="report folder (default ./watch)")
    p.add_argument("--no-launch", action="store_true",
                   help="do not launch the app: print the WHIP URL and token to give it yourself")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop by itself after S seconds (default: on Ctrl-C only)")
    p.set_defaults(func=run)


@contextlib.contextmanager
def _signals_block() -> Iterator[None]:
    """Block SIGINT while children start, so a Ctrl-C reaches this process only (they inherit the mask)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration must be positive, not {args.duration:g}")
    check_lab_options(args)
    out = prepare_out(Path(args.out))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in SIGNALS}
    try:
        with _signals_block(), contextlib.ExitStack() as hold:
            lab_file = hold.enter_context(lab_for_run(args, out / "virtual-lab"))
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            return _watch(args, out, lab_file, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch(args: argparse.Namespace, out: Path, lab_file: Path, stop: threading.Event) -> int:
    from harness.naming import safe_name
    from harness.report.build import write_report
    from harness.report.results import TestResult, run_metadata
    from harness.session import LabCall, LabSession
    from harness.timeline import Timeline

    cleanup: list[tuple[str, Callable[[], Any]]] = []
    problems: list[str] = []
    call: LabCall | None = None
    with LabSession.open(lab_file) as lab:
        spec = lab.spec.device(args.device) if args.device else lab.spec.role("dut")[0]
        folder = out / "tests" / f"watch-{safe_name(spec.name)}"
        started = time.time()
        with Timeline(folder / "timeline.jsonl") as timeline:
            try:
                phone = lab.open_phone(spec, timeline, folder, log=True)
                cleanup.append(("phone", lambda: lab.close_phone(phone)))
                call = lab.open_call(timeline, folder / "peer")
                cleanup.append(("peer", call.close))
                if phone.audio.capture:
                    rig = lab.audio_rig(phone, timeline, folder / "audio").open()
                    cleanup.append(("captures", rig.close))
                else:
                    print(f"{spec.name} has no audio capture map in the lab file: recording no routes",
                          flush=True)
                if lab.spec.app is not None and not args.no_launch:
                    launcher = lab.app_launcher(phone, call)
                    launcher()
                    cleanup.append(("app", launcher.terminate))
                    print(f"launched {launcher.bundle} on {spec.name} (HARNESS_WHIP_URL={call.url})",
                          flush=True)
                else:
                    url = call.url_for(phone)  # the address this phone reaches (peer.advertise)
                    env = " ".join(f"{k}={v}" for k, v in contract.launch_env(url, call.token).items())
                    print(f"start the call in the app yourself: {env}", flush=True)
                timeline.mark("watch-started", device=spec.name)
                print(f"watching {spec.name}: interrupt the call on the phone; Ctrl-C writes the report "
                      f"to {out}", flush=True)
                deadline = time.monotonic() + args.duration if args.duration else None
                while not stop.wait(0.2):
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                timeline.mark("watch-stopped")
            finally:
                for what, close in reversed(cleanup):
                    try:
                        close()
                    except Exception as exc:  # keep closing the rest; the report says what failed
                        problems.append(f"closing the {what}: {type(exc).__name__}: {exc}")
            lost = timeline.first("stream-lost", source="device-log")
        calls = [c.summary() for c in call.peer.calls.values()] if call is not None else []
    metrics: dict[str, Any] = {"watched_s": round(time.time() - started, 1)}
    if calls:
        c = calls[0]
        metrics.update({"sessions": c["sessions"], "reconnects": c["reconnects"], "packets": c["packets"],
                        "lost_packets": c["lost"]})
    outcome, tag, message = "pass", "", "; ".join(problems)
    if lost is not None:
        outcome, tag = "lab-fault", str(lost.fields.get("tag", "device-log-lost"))
        message = f"the device log stream was lost: {lost.fields.get('error', '')}".strip(": ")
    result = TestResult(nodeid=f"watch::{spec.name}", outcome=outcome, lab_tag=tag, message=message,
                        device=spec.name, duration_s=metrics["watched_s"], metrics=metrics,
                        artifacts={"dir": str(folder)})
    meta = run_metadata({"started_at": started, "finished_at": time.time(), "lab": str(lab_file),
                         "device": spec.name, "defect": args.defect, "mode": "watch",
                         "devices": {spec.name: {"udid": spec.udid, "role": spec.role, "ios": spec.ios,
                                                 "model": spec.model}}})
    data = write_report(out, [result], meta, title=f"harness watch: {spec.name}")
    print(f"{outcome}{f' [{tag}]' if tag else ''}: watched {metrics['watched_s']} s"
          f"{f', {len(calls)} call(s)' if calls else ', no call connected'}")
    print(f"report: {out / 'index.html'}  (results.json, artifacts in {folder})", file=sys.stdout, flush=True)
    return int(data["exit_code"])
