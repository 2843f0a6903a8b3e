"""``harness merge``: the per-host report folders of one night as one report (see
:mod:`harness.report.merge`); exits with the worst of the hosts' exit codes."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="combine the hosts' report folders of one night into one report",
                       description="Combine report folders (harness run --out) from several lab hosts into "
                       "one: NIGHT/index.html, junit.xml and results.json, linking to each host's artifacts. "
                       "Exit code: the worst of the hosts' (4 > 1 > 3 > 0).")
    p.add_argument("folders", nargs="+", metavar="OUT", help="the hosts' report folders")
    p.add_argument("--out", required=True, metavar="NIGHT", help="folder for the merged report (beside them)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.cli.run import prepare_out
    from harness.report.merge import merge, read_parts

    night = Path(args.out).resolve()
    read_parts(args.folders, night)  # refuse bad input before --out is emptied
    out = prepare_out(night)
    data = merge(args.folders, out)
    for p in data["parts"]:
        counts = ", ".join(f"{v} {k}" for k, v in p["summary"].items() if v)
        print(f"{p['label']:<24} exit {p['exit_code']}  {counts}  ({p['path']})")
    print(f"night: exit code {data['exit_code']}; report: {out / 'index.html'}")
    return int(data["exit_code"])
