"""How long ``harness phone survey`` takes on the virtual lab (the README's figure).

Run: ``.venv/bin/python bench/survey_time.py [--runs 3]
[--presets default,field] [--log-window 10] [--timer 8]``. Per preset (the virtual phones' default
variants, or ``--variant field``: WDA's slow finds, the second Accept, ...) it starts a fresh
two-phone virtual lab on iOS 18.2 for each run, times the survey command as a user runs it (wall
clock, the lab's start-up excluded) and prints every run, the median and how many states were
reached. The defaults are the command's own (``--log-window 10 --timer 8``). A real phone's WDA finds
and page sources are slower than even ``field``'s (reference wda.md): expect more there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.lab.virtual import start_lab_process

ROOT = Path(__file__).resolve().parents[1]
PRESETS = {"default": (), "field": ("field",)}


def one(preset: str, base: Path, log_window: float, timer: int) -> tuple[float, str]:
    with start_lab_process(base / "lab", phones=2, ios_versions="18.2", variants=PRESETS[preset]) as sim:
        start = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "harness", "phone", "survey", "--lab", str(sim.lab_yaml), "--device",
             "Virtual iPhone A", "--caller", "Virtual iPhone B", "--out", str(base / "out"), "--log-window",
             str(log_window), "--timer", str(timer)],
            cwd=ROOT, capture_output=True, text=True, timeout=1800)
        seconds = time.monotonic() - start
    if run.returncode != 0:
        raise SystemExit(f"survey {preset} exited {run.returncode}:\n{(run.stdout + run.stderr)[-3000:]}")
    states = json.loads((base / "out" / "survey.json").read_text())["states"]
    reached = sum(1 for s in states if s["status"] == "reached")
    return seconds, f"{reached}/{len(states)} states"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--presets", default="default,field")
    ap.add_argument("--log-window", type=float, default=10.0)
    ap.add_argument("--timer", type=int, default=8)
    args = ap.parse_args()
    print(f"harness phone survey on the virtual lab (iOS 18.2, --log-window {args.log_window:g} "
          f"--timer {args.timer}), {args.runs} run(s) per preset", flush=True)
    for preset in args.presets.split(","):
        times = []
        for i in range(args.runs):
            with tempfile.TemporaryDirectory(prefix=f"survey-bench-{preset}-") as tmp:
                seconds, reached = one(preset, Path(tmp), args.log_window, args.timer)
            times.append(seconds)
            print(f"  {preset:8} run {i + 1}: {seconds:6.1f} s ({reached})", flush=True)
        print(f"{preset:10} median {statistics.median(times):6.1f} s  (min {min(times):.1f}, "
              f"max {max(times):.1f})", flush=True)


if __name__ == "__main__":
    main()
