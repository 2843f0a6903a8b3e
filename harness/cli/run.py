"""``harness run``: the scenario suite on a lab (the virtual lab by default), with its report.

The virtual lab runs in its own process (``harness sim up``); a ``--defect`` configures that lab's
app and is invisible to the test process, which sees only what a real lab would show it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from harness.lab.virtual import LabProcess

DEFAULT_SCENARIOS = "testcases"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run scenarios and write junit.xml, results.json and the report")
    p.add_argument("scenarios", nargs="*", help="scenario files or node ids (default: the catalog)")
    p.add_argument("--lab", help="lab.yaml of a real lab (default: start the virtual lab)")
    p.add_argument("--device", help="run on this DUT only (name or UDID)")
    p.add_argument("--defect", help="virtual lab only: switch this defect on in the lab's voice app")
    p.add_argument("--out", default="out", help="report folder (default: ./out)")
    p.add_argument("-n", dest="workers", type=int, default=0, help="pytest-xdist workers (one per DUT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.report.results import read_results

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.defect and args.lab:
        raise UsageError("--defect exists only on the virtual lab: drop --lab, or drop --defect")
    scenarios = args.scenarios or [DEFAULT_SCENARIOS]
    for s in scenarios:
        if not Path(s.split("::", 1)[0]).exists():
            raise UsageError(f"{s}: no such scenario file (see `ls {DEFAULT_SCENARIOS}`)")

    sim = None
    lab_file = args.lab
    if lab_file and not Path(lab_file).is_file():
        raise UsageError(f"{lab_file}: no such lab file (write one, or omit --lab to use the virtual lab)")
    try:
        if not lab_file:
            sim, lab_file = _start_virtual_lab(out / "virtual-lab", args.defect)
        cmd = [sys.executable, "-m", "pytest", *scenarios, "--lab", str(lab_file),
               "--harness-out", str(out), f"--junitxml={out / 'junit.xml'}", "-o", "junit_family=xunit1",
               "-p", "no:cacheprovider", "-q"]
        if args.device:
            cmd += ["--device", args.device]
        if args.workers:
            cmd += ["-n", str(args.workers)]
        proc = subprocess.run(cmd, check=False)
    finally:
        if sim is not None:
            _stop_virtual_lab(sim)
    results_path = out / "results.json"
    if not results_path.exists():
        print(f"harness run: pytest exited {proc.returncode} without results", file=sys.stderr)
        return int(ExitCode.INTERNAL if proc.returncode not in (2, 4) else ExitCode.USAGE)
    results = read_results(results_path)
    _print_summary(results, out)
    return int(results["exit_code"])


def _start_virtual_lab(state_dir: Path, defect: str | None) -> tuple[LabProcess, Path]:
    from harness.lab.virtual import start_lab_process

    sim = start_lab_process(state_dir, phones=2, extra_args=["--defect", defect] if defect else [])
    return sim, sim.lab_yaml


def _stop_virtual_lab(sim: LabProcess) -> None:
    sim.stop()


def _print_summary(results: dict, out: Path) -> None:
    print()
    print(f"{'outcome':<12} {'scenario':<60} detail")
    for t in results["tests"]:
        detail = t.get("rule") or t.get("lab_tag") or ""
        print(f"{t['outcome']:<12} {t['nodeid']:<60} {detail}")
    s = results["summary"]
    print(f"\n{s.get('pass', 0)} passed, {s.get('app-failure', 0)} app failures, "
          f"{s.get('lab-fault', 0)} lab faults, {s.get('error', 0)} errors, {s.get('skipped', 0)} skipped")
    print(f"report: {out}/ (junit.xml, results.json)")
