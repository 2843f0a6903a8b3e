"""``harness repro SCENARIO --device NAME --until-fail [--max N]``: run one scenario until it fails.

Each attempt is a full run into ``OUT/attempt-NNN`` on one lab (the virtual lab is started once
for all attempts). The first attempt the app fails (or the harness breaks) ends the loop, and its
run becomes a self-contained bundle in ``OUT/bundle`` (see :mod:`harness.report.bundle`). Lab
faults do not end the loop: they are counted and kept, and are the exit code (3) only when no
attempt got as far as a verdict. Passing attempts keep their results and lose their recordings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from harness.cli.run import (
    add_lab_options,
    check_lab_options,
    check_scenarios,
    lab_for_run,
    outcome_of,
    prepare_out,
    run_pytest,
)
from harness.errors import ExitCode, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repro", help="rerun one scenario until it fails; bundle the failing run",
                       description="Rerun SCENARIO on one phone until it fails (at most --max times), then "
                       "write OUT/bundle: timeline, recordings around the failure, device log excerpt, "
                       "screenshots and the exact command to run it again.")
    p.add_argument("scenario", help="scenario file or node id (testcases/test_x.py::test_y)")
    add_lab_options(p)
    p.add_argument("--until-fail", action="store_true",
                   help="repeat until an attempt fails (default: run once)")
    p.add_argument("--max", type=int, default=20, metavar="N",
                   help="with --until-fail: give up after N attempts (default 20)")
    p.add_argument("--out", default="repro", help="folder for the attempts and the bundle (default ./repro)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.max < 1:
        raise UsageError(f"--max must be 1 or more, not {args.max}")
    scenarios = check_scenarios([args.scenario])
    check_lab_options(args)
    out = prepare_out(Path(args.out), also=("attempt-*", "bundle"))
    for old in out.glob("attempt-*"):
        shutil.rmtree(old)
    shutil.rmtree(out / "bundle", ignore_errors=True)
    attempts = args.max if args.until_fail else 1
    print(f"harness repro: {args.scenario} on {args.device or 'the lab DUT'}, "
          f"{'until it fails, ' if args.until_fail else ''}at most {attempts} attempt(s); output in {out}",
          flush=True)
    codes: list[int] = []
    failing: Path | None = None
    with lab_for_run(args, out / "virtual-lab") as lab_file:
        for k in range(1, attempts + 1):
            folder = out / f"attempt-{k:03d}"
            folder.mkdir()
            result = run_pytest(scenarios, lab_file, folder, device=args.device, defect=args.defect,
                                stream=None)
            code = outcome_of(result)
            codes.append(code)
            tests = (result.results or {}).get("tests", [])
            print(f"attempt {k}/{attempts}: exit {code}  " + "; ".join(_describe(t) for t in tests),
                  flush=True)
            if code in (ExitCode.APP_FAILURE, ExitCode.INTERNAL):
                failing = folder
                break
            if code == ExitCode.PASS:
                shutil.rmtree(folder / "tests", ignore_errors=True)
    if failing is None:
        lab_faults = codes.count(ExitCode.LAB_FAULT)
        print(f"no failure in {len(codes)} attempt(s) ({lab_faults} ended in a lab fault)"
              f"; results in {out}/attempt-*/results.json")
        return int(ExitCode.LAB_FAULT if codes and lab_faults == len(codes) else ExitCode.PASS)
    index = _bundle(args, failing, out)
    print(f"bundle of the failing run: {index.parent}  (open {index}; README.txt says how to run it again)")
    return codes[-1]


def _describe(t: dict) -> str:
    detail = t.get("rule") or t.get("lab_tag") or ""
    return f"{t['name']}: {t['outcome']}{f' ({detail})' if detail else ''}"


def _bundle(args: argparse.Namespace, attempt: Path, out: Path) -> Path:
    from harness.report.build import phone_names
    from harness.report.bundle import write_bundle
    from harness.report.results import load_test_results, read_results

    data = read_results(attempt / "results.json")
    results = load_test_results(data)
    failed = next((r for r in results if r.outcome in ("app-failure", "error")), results[0])
    source = Path(failed.artifacts.get("dir", ""))
    if not source.is_absolute():
        source = attempt / source
    if not source.is_dir():
        raise UsageError(f"{failed.nodeid}: its artifacts folder {source} is missing; cannot bundle it")
    meta = data["metadata"]
    return write_bundle(out / "bundle", failed, source, meta, commands(args, failed.nodeid),
                        phone_names({**meta, "lab": args.lab}))


def commands(args: argparse.Namespace, nodeid: str) -> dict[str, list[str]]:
    """The exact commands: this scenario once more, and this repro again."""
    lab = ["--lab", str(Path(args.lab).resolve())] if args.lab else []
    device = ["--device", args.device] if args.device else []
    virtual = []
    if args.defect:
        virtual += ["--defect", args.defect]
    if args.app_logging:
        virtual += ["--app-logging", args.app_logging]
    harness = [sys.executable, "-m", "harness"]
    return {
        "cwd": [os.getcwd()],
        "run it once": [*harness, "run", nodeid, *lab, *device, *virtual, "--out", "repro-run"],
        "repeat until it fails": [*harness, "repro", nodeid, *lab, *device, *virtual, "--until-fail",
                                  "--max", str(args.max), "--out", "repro-again"],
    }
