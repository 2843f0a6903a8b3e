"""``harness run``: the scenario suite on a lab (the virtual lab by default), with its report.

The virtual lab runs in its own process (``harness sim up``); a ``--defect`` configures that lab's
app and is invisible to the test process, which sees only what a real lab would show it. pytest
runs as a child process writing into ``--out``: ``junit.xml``, ``results.json``, ``index.html``,
``tests/<test>/`` (artifacts) and ``pytest.log`` (its console output). While it runs, one line per
finished test is printed from ``progress.jsonl``.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.errors import UsageError
from harness.peer.advertise import check_lab_peer

DEFAULT_SCENARIOS = "testcases"
REPORT_FILES = ("junit.xml", "results.json", "index.html", "progress.jsonl", "pytest.log",
                "harness-error.txt")
REPORT_DIRS = ("tests", "virtual-lab")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run scenarios and write junit.xml, results.json and index.html",
                       description="Run scenarios on a lab (default: a virtual lab started for the run) "
                       "and write the report folder --out: junit.xml, results.json, index.html, artifacts.")
    p.add_argument("scenarios", nargs="*",
                   help="scenario files or node ids (default: the catalog, testcases/)")
    add_lab_options(p)
    p.add_argument("--out", default="out",
                   help="report folder (default: ./out); emptied of an earlier report")
    p.add_argument("-n", dest="workers", type=int, default=0,
                   help="pytest-xdist workers (one per DUT; default: none)")
    p.add_argument("--keep-audio", choices=("failures", "all"), default="failures",
                   help="failures (default): a passing test keeps its analysis, plots and excerpts around "
                   "each interruption, not its whole recordings; all: keep every recording")
    p.add_argument("--history", metavar="DB_URL",
                   help="at the end, ingest the run into this history database (see `harness history`)")
    p.set_defaults(func=run)


def add_lab_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lab", metavar="LAB_YAML",
                   help="lab file of a real lab (default: start the virtual lab)")
    p.add_argument("--device", metavar="NAME|UDID", help="run on this DUT only (name or UDID from the lab)")
    p.add_argument("--defect", help="virtual lab only: switch this defect on in the lab's voice app and run "
                   "the scenarios that declare it")
    p.add_argument("--app-logging", choices=("on", "off"), default=None,
                   help="virtual lab only: whether its voice app writes HARNESS-EVENT lines (default on)")
    p.add_argument("--sim-variant", action="append", default=[], metavar="NAME=VALUE|field",
                   help="virtual lab only (repeatable): a variant of its phones, e.g. dial_prompt=none, or "
                   "field (the most hostile plausible set); see `harness sim variants`")
    p.add_argument("--sim-phone-profile", metavar="PROFILE_YAML",
                   help="virtual lab only: its phones show and log what this profile holds (a real phone's, "
                   "from `harness phone survey`), so the catalog runs against that phone's appearance")


# -- the lab for a run ---------------------------------------------------------------------------


def check_lab_options(args: argparse.Namespace) -> None:
    """UsageError for option combinations that cannot work, before anything starts."""
    if args.lab and args.defect:
        raise UsageError("--defect exists only on the virtual lab: drop --lab, or drop --defect")
    if args.lab and args.app_logging:
        raise UsageError("--app-logging exists only on the virtual lab: drop --lab, or drop --app-logging")
    if getattr(args, "sim_variant", None):
        if args.lab:
            raise UsageError("--sim-variant exists only on the virtual lab: drop --lab, or drop "
                             "--sim-variant")
        from harness.cli.sim import _known_variants

        _known_variants(args.sim_variant)
    if getattr(args, "sim_phone_profile", None):
        if args.lab:
            raise UsageError("--sim-phone-profile exists only on the virtual lab: drop --lab, or drop "
                             "--sim-phone-profile")
        from harness.cli.sim import _known_phone_profile

        _known_phone_profile(args.sim_phone_profile)
    if args.defect:
        from harness.verdicts.defects import known_defect

        known_defect(args.defect)
    if args.lab:
        from harness.lab.schema import Lab

        lab = Lab.load(args.lab)
        if args.device:
            lab.device(args.device)
        check_lab_peer(lab.peer.bind, lab.peer.advertise, virtual=lab.virtual)
    elif args.device:
        from harness.cli.sim import _known_virtual_device

        _known_virtual_device(args.device, virtual_duts(args))


def virtual_duts(args: argparse.Namespace) -> int:
    """DUTs of the virtual lab a command starts: one per pytest-xdist worker."""
    return max(1, getattr(args, "workers", 0) or 1)


@contextlib.contextmanager
def lab_for_run(args: argparse.Namespace, state_dir: Path) -> Iterator[Path]:
    """The lab file to run on: ``--lab``, or a virtual lab started now and stopped on exit."""
    if args.lab:
        yield Path(args.lab).resolve()
        return
    from harness.lab.virtual import start_lab_process

    extra = ["--defect", args.defect] if args.defect else []
    if args.app_logging:
        extra += ["--app-logging", args.app_logging]
    if getattr(args, "sim_phone_profile", None):
        extra += ["--phone-profile", str(Path(args.sim_phone_profile).resolve())]
    duts = virtual_duts(args)
    sim = start_lab_process(state_dir, phones=2 * duts, duts=duts, extra_args=extra,  # a caller per DUT
                            variants=getattr(args, "sim_variant", None) or ())
    try:
        if args.device:
            from harness.lab.schema import Lab

            Lab.load(sim.lab_yaml).device(args.device)
        yield sim.lab_yaml
    finally:
        sim.stop()


def prepare_out(out: Path, also: tuple[str, ...] = ()) -> Path:
    """Create ``out``, or empty it of an earlier report; refuse a folder that holds something else.

    ``also``: glob patterns of further names the command owns there (emptied by the command itself).
    """
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; pick another --out")
    if out.is_dir():
        owned = (*REPORT_FILES, *REPORT_DIRS, *also, "*.tmp")
        foreign = [p.name for p in out.iterdir() if not any(fnmatch.fnmatch(p.name, g) for g in owned)]
        if foreign:
            raise UsageError(f"--out {out}: holds other files ({', '.join(sorted(foreign)[:5])}); "
                             "pick an empty or new folder, or an earlier report folder")
        for name in REPORT_FILES:
            (out / name).unlink(missing_ok=True)
        for name in REPORT_DIRS:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_scenarios(scenarios: list[str]) -> list[str]:
    scenarios = scenarios or [DEFAULT_SCENARIOS]
    for s in scenarios:
        path = s.split("::", 1)[0]
        if not Path(path).exists():
            raise UsageError(f"{path}: no such scenario file or folder (see `ls {DEFAULT_SCENARIOS}`)")
    return scenarios


# -- pytest as a child, with a progress display --------------------------------------------------


@dataclass
class PytestRun:
    returncode: int
    results: dict[str, Any] | None
    log: Path


def run_pytest(scenarios: list[str], lab_file: Path, out: Path, *, device: str | None = None,
               defect: str | None = None, workers: int = 0, stream: IO[str] | None = sys.stdout,
               extra: list[str] | None = None) -> PytestRun:
    """Run pytest on ``scenarios`` into ``out``; print one line per finished test to ``stream``."""
    cmd = [sys.executable, "-m", "pytest", *scenarios, "--lab", str(lab_file), "--harness-out", str(out),
           f"--junitxml={out / 'junit.xml'}", "-o", "junit_family=xunit1", "-p", "no:cacheprovider",
           "-q", "-rfE"]
    if device:
        cmd += ["--device", device]
    if defect:
        cmd += ["--defect", defect]
    if workers:
        cmd += ["-n", str(workers)]
    cmd += extra or []
    log = out / "pytest.log"
    progress = Progress(out / "progress.jsonl", stream)
    with open(log, "wb") as f:
        env = {**os.environ, "HARNESS_COMMAND": shlex.join(sys.argv), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        try:
            while proc.poll() is None:
                progress.poll()
                time.sleep(0.2)
        except KeyboardInterrupt:
            # pytest got the same SIGINT (one process group): let it write what it has
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(60)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        finally:
            progress.poll()
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else None
    if results is not None and not (out / "index.html").is_file() and stream is not None:
        print(f"warning: pytest (exit {proc.returncode}) ended before it wrote index.html; see {log}",
              file=stream, flush=True)
    return PytestRun(proc.returncode, results, log)


class Progress:
    """Prints ``progress.jsonl`` records (written by the plugin as tests finish) as they appear."""

    def __init__(self, path: Path, stream: IO[str] | None) -> None:
        self.path, self.stream = path, stream
        self.offset = 0
        self.total: int | None = None

    def poll(self) -> None:
        if self.stream is None or not self.path.is_file():
            return
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            chunk = f.read()
        done = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(done.encode("utf-8"))
        for line in done.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("kind") == "collected":
                self.total = int(rec["count"])
                print(f"{self.total} test(s) to run", file=self.stream, flush=True)
            elif rec.get("kind") == "test":
                print(progress_line(rec, self.total), file=self.stream, flush=True)


def progress_line(rec: dict[str, Any], total: int | None) -> str:
    width = len(str(total or rec.get("index", 0)))
    count = f"[{rec.get('index', 0):>{width}}/{total if total is not None else '?'}]"
    detail = rec.get("rule") or rec.get("lab_tag") or ""
    metrics = rec.get("metrics") or {}
    shown = ", ".join(f"{k}={v}" for k, v in list(metrics.items())[:3])
    line = f"{count} {rec['outcome']:<12} {rec['name']}"
    if rec.get("device"):
        line += f" on {rec['device']}"
    line += f"  ({rec.get('duration_s', 0):.1f} s)"
    if detail:
        line += f"  {detail}"
    if rec["outcome"] not in ("pass", "skipped") and rec.get("message"):
        line += f": {str(rec['message'])[:160]}"
    elif shown:
        line += f"  {shown}"
    if rec.get("teardown_error"):
        line += f"  [teardown error: {str(rec['teardown_error'])[:120]}]"
    return line


def outcome_of(run: PytestRun, what: str = "scenario") -> int:
    """The exit code of a pytest child run; UsageError/HarnessError for runs that judged nothing."""
    from harness.errors import HarnessError

    if run.results is None:
        tail = run.log.read_text(errors="replace")[-1500:] if run.log.is_file() else ""
        if run.returncode in (4, 5):  # pytest: usage error / nothing collected
            raise UsageError(f"pytest refused the {what}s (exit {run.returncode}); its output:\n{tail}")
        raise HarnessError(f"pytest exited {run.returncode} without writing results.json; "
                           f"see {run.log}:\n{tail}")
    if not run.results["tests"]:
        raise UsageError(f"no {what} ran: none matched the arguments (a --defect no scenario declares? "
                         "a -k that matched nothing?)")
    return int(run.results["exit_code"])


# -- the subcommand ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.workers < 0:
        raise UsageError(f"-n must be 0 or more, not {args.workers}")
    if args.workers:
        try:
            import xdist  # noqa: F401
        except ImportError:
            raise UsageError("-n needs pytest-xdist: pip install pytest-xdist (or drop -n)") from None
        if args.device and args.workers > 1:
            raise UsageError("--device names one DUT, and a DUT takes one worker: drop -n or --device")
    scenarios = check_scenarios(args.scenarios)
    check_lab_options(args)
    history = None
    if args.history:
        from harness.history.db import History

        history = History.open(args.history)  # a wrong URL or a database that is down: before the run
    out = prepare_out(Path(args.out))
    print(f"harness run: {' '.join(scenarios)} on {args.lab or 'the virtual lab'}"
          f"{f' (defect {args.defect})' if args.defect else ''}"
          f"{f' (variants {chr(44).join(args.sim_variant)})' if args.sim_variant else ''}; report in {out}",
          flush=True)
    with lab_for_run(args, out / "virtual-lab") as lab_file:
        result = run_pytest(scenarios, lab_file, out, device=args.device, defect=args.defect,
                            workers=args.workers, extra=["--harness-keep-audio", args.keep_audio])
    code = outcome_of(result)
    print_summary(result.results or {}, out)
    if history is not None:
        from harness.history.ingest import ingest_after_run

        code = ingest_after_run(history, out, code)
    return code


def print_summary(results: dict[str, Any], out: Path, stream: IO[str] = sys.stdout) -> None:
    tests = results.get("tests", [])
    if tests:
        width = min(max(len(t["nodeid"]) for t in tests), 90)
        print(f"\n{'outcome':<12} {'scenario':<{width}} {'device':<18} detail", file=stream)
        for t in tests:
            detail = t.get("rule") or t.get("lab_tag") or ""
            if t.get("teardown_error"):
                detail += " (teardown error)"
            print(f"{t['outcome']:<12} {t['nodeid']:<{width}} {t.get('device') or '-':<18} {detail}",
                  file=stream)
    s = results.get("summary", {})
    print(f"\n{s.get('pass', 0)} passed, {s.get('app-failure', 0)} app failures, "
          f"{s.get('lab-fault', 0)} lab faults, {s.get('error', 0)} errors, {s.get('skipped', 0)} skipped, "
          f"{s.get('teardown-errors', 0)} teardown errors; exit code {results.get('exit_code', '?')}",
          file=stream)
    print(f"report: {out / 'index.html'}  (junit.xml, results.json, artifacts in {out})", file=stream)
