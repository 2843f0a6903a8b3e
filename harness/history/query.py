"""Reading a window of nights back from the history, in one deterministic order."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from harness.history.db import History
from harness.history.schema import metrics, results, runs


@dataclass
class Row:
    """One test result with its run's facts and its metrics."""

    night: str
    run_key: str
    host: str
    lab: str
    started_at: float
    position: int
    scenario: str
    nodeid: str
    device: str
    udid: str
    model: str
    ios: str
    app_version: str
    app_build: str
    outcome: str
    rule: str
    lab_tag: str
    duration_s: float
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def phone(self) -> str:
        """The physical phone: its UDID, else its name on its host."""
        return self.udid or f"{self.host}/{self.device}"

    @property
    def phone_label(self) -> str:
        return f"{self.device or '?'} ({self.host})"


def last_nights(history: History, nights: int) -> list[str]:
    with history.engine.connect() as c:
        rows = c.execute(sa.select(runs.c.night).distinct().order_by(runs.c.night.desc()).limit(nights)).all()
    return sorted(r[0] for r in rows)


def load_window(history: History, nights: int) -> tuple[list[str], list[Row]]:
    """The last ``nights`` nights that have runs, and every result in them (oldest first)."""
    window = last_nights(history, nights)
    if not window:
        return [], []
    cols = [runs.c.night, runs.c.run_key, runs.c.host, runs.c.lab, runs.c.started_at, results.c.position,
            results.c.scenario, results.c.nodeid, results.c.device, results.c.udid, results.c.model,
            results.c.ios,
            results.c.app_version, results.c.app_build, results.c.outcome, results.c.rule, results.c.lab_tag,
            results.c.duration_s]
    with history.engine.connect() as c:
        found = c.execute(
            sa.select(results.c.id, *cols).join(runs, results.c.run_id == runs.c.id)
            .where(runs.c.night.in_(window))
            .order_by(runs.c.night, runs.c.started_at, runs.c.run_key, results.c.position)).all()
        values = c.execute(
            sa.select(metrics.c.result_id, metrics.c.name, metrics.c.value)
            .join(results, metrics.c.result_id == results.c.id).join(runs, results.c.run_id == runs.c.id)
            .where(runs.c.night.in_(window)).order_by(metrics.c.result_id, metrics.c.name)).all()
    by_result: dict[int, dict[str, float]] = {}
    for result_id, name, value in values:
        by_result.setdefault(result_id, {})[name] = float(value)
    rows = [Row(*r[1:], metrics=by_result.get(r[0], {})) for r in found]  # type: ignore[misc]  # row columns
    return window, rows
