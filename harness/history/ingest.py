"""Writing runs into the history: one transaction per run, keyed by the run's natural key.

A run already there (same ``run_key``: host, start time and process id of the run) is left as it
is, so ingesting a folder twice, or a host's folder and then the night merged from it, changes
nothing. Two processes ingesting at once each commit whole runs (the database's unique key decides
who wrote a run both had); nothing is half-written.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from harness.history.db import History
from harness.history.folder import RunRecord, read_runs
from harness.history.schema import metrics, results, runs


@dataclass
class Ingested:
    run_key: str
    source: str
    added: bool
    results: int


def _insert(connection: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def ingest_run(history: History, run: RunRecord) -> Ingested:
    with history.engine.begin() as c:
        row = {k: v for k, v in asdict(run).items() if k != "results"}
        stmt = _insert(c, runs).values(**row).on_conflict_do_nothing(index_elements=["run_key"])
        run_id = c.execute(stmt.returning(runs.c.id)).scalar_one_or_none()
        if run_id is None:
            return Ingested(run.run_key, run.source, False, len(run.results))
        for r in run.results:
            values = {k: v for k, v in asdict(r).items() if k != "metrics"}
            result_id = c.execute(sa.insert(results).values(run_id=run_id, **values).returning(results.c.id)
                                  ).scalar_one()
            if r.metrics:
                c.execute(sa.insert(metrics), [{"result_id": result_id, "name": k, "value": v}
                                               for k, v in sorted(r.metrics.items())])
    return Ingested(run.run_key, run.source, True, len(run.results))


def ingest(history: History, folders: list[str | Path], night: str | None = None) -> list[Ingested]:
    """Read every folder first (a bad one is a UsageError before anything is written), then ingest."""
    found: list[RunRecord] = []
    for folder in folders:
        found += read_runs(folder, night)
    return [ingest_run(history, run) for run in found]


def print_ingested(done: list[Ingested], url: str, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    for d in done:
        state = "added" if d.added else "already there"
        print(f"{state:<13} {d.run_key}  ({d.results} results)  from {d.source}", file=stream)
    added = sum(d.added for d in done)
    print(f"{added} run(s) added, {len(done) - added} already there; history: {url}", file=stream)


def ingest_after_run(history: History, out: Path, code: int) -> int:
    """``harness run --history``: ingest the finished run; a failure costs exit 4, never the report."""
    from harness.report.results import worst_exit_code

    try:
        print_ingested(ingest(history, [out]), history.url)
    except Exception as exc:  # the report is on disk: say how to ingest it later
        print(f"harness run: could not ingest {out} into {history.url}: {type(exc).__name__}: {exc}; "
              f"the report is complete, ingest it later: harness history ingest {out} --db URL",
              file=sys.stderr)
        return int(worst_exit_code([code, 4]))
    finally:
        history.close()
    return code
