"""``harness history``: report folders into one database (SQLite or PostgreSQL), and the trends page.

``ingest OUT...`` stores each run once (re-ingesting changes nothing); ``report`` writes
``DIR/index.html`` over the last ``--nights`` nights. See :mod:`harness.history`.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from harness.errors import UsageError

NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from harness.history.db import DEFAULT_URL

    p = sub.add_parser("history", help="the nightly history: ingest report folders, write the trends page",
                       description="Runs from many lab hosts in one database (SQLite or PostgreSQL), and a "
                       "trends page over nights: pass rates, metric trends, new failures, flakes, "
                       "lab health.")
    actions = p.add_subparsers(dest="history_command", metavar="ACTION")
    db_help = (f"database URL (default {DEFAULT_URL}); a shared server: "
               "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    ingest = actions.add_parser("ingest",
                                help="store report folders (harness run --out, or harness merge --out)")
    ingest.add_argument("folders", nargs="+", metavar="OUT", help="report folders (with results.json)")
    ingest.add_argument("--db", default=DEFAULT_URL, help=db_help)
    ingest.add_argument("--night", help="the night (YYYY-MM-DD) these runs belong to (default: the date each "
                        "run started, less 12 hours, local time)")
    ingest.set_defaults(func=run_ingest)
    report = actions.add_parser("report", help="write the trends page DIR/index.html")
    report.add_argument("--db", default=DEFAULT_URL, help=db_help)
    report.add_argument("--nights", type=int, default=30, help="how many of the latest nights (default 30)")
    report.add_argument("--out", required=True, metavar="DIR", help="folder for index.html")
    report.set_defaults(func=run_report)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_ingest(args: argparse.Namespace) -> int:
    from harness.history.db import History
    from harness.history.ingest import ingest, print_ingested

    if args.night is not None and not NIGHT.match(args.night):
        raise UsageError(f"--night {args.night!r}: give a date as YYYY-MM-DD")
    from harness.history.folder import read_runs

    for folder in args.folders:  # bad folders are refused before the database is touched
        read_runs(folder, args.night)
    history = History.open(args.db)
    try:
        print_ingested(ingest(history, args.folders, args.night), history.url)
    finally:
        history.close()
    return 0


def run_report(args: argparse.Namespace) -> int:
    from harness.history.db import History
    from harness.history.report import write_trends

    if args.nights < 1:
        raise UsageError(f"--nights must be 1 or more, not {args.nights}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; pick another --out")
    history = History.open(args.db)
    try:
        trends = write_trends(history, out, args.nights)
    finally:
        history.close()
    flags = trends.flags
    print(f"{len(trends.nights)} night(s), {trends.runs} run(s); {len(flags)} flag(s)")
    for f in flags:
        print(f"  {f.kind:<10} {f.text}")
    print(f"trends: {out.resolve() / 'index.html'}")
    return 0
