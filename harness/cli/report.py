"""``harness report OUT``: write ``results.json`` and ``index.html`` again from a report folder.

For a run that was killed (``kill -9``, a lost CI runner) before pytest wrote them: the finished
tests come from ``progress.jsonl``, interrupted ones from their ``tests/<test>/`` folders (as errors,
their evidence linked). A complete folder is re-rendered from its ``results.json``.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild results.json and index.html of a (killed) run's report folder",
                       description="Write results.json and index.html of a run's report folder again: "
                       "for a run killed before pytest wrote them, from progress.jsonl (finished tests) and "
                       "tests/<test>/ (interrupted tests, reported as errors with their evidence); for a "
                       "complete folder, from its results.json.")
    p.add_argument("out", metavar="OUT", help="the --out folder of a `harness run`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.cli.run import print_summary
    from harness.report.rebuild import rebuild_report

    out = Path(args.out)
    data = rebuild_report(out)
    meta = data.get("metadata") or {}
    if meta.get("rebuilt_from"):
        print(f"rebuilt from {meta['rebuilt_from']}: {meta.get('finished', 0)} finished, "
              f"{meta.get('interrupted', 0)} interrupted, {meta.get('not_started') or 0} not started "
              f"(of {meta.get('collected') if meta.get('collected') is not None else '?'} collected)")
    print_summary(data, out.resolve())
    return int(data["exit_code"])
