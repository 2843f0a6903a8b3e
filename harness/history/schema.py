"""The history's tables (SQLAlchemy Core): one row per run, per test result, per numeric metric.

The migrations in ``migrations/versions`` create exactly these (a test compares them); change both
together, with a new migration.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(300), nullable=False, unique=True,
              comment="host/started_at/pid of the run: the same run ingested twice has the same key"),
    sa.Column("night", sa.String(10), nullable=False, index=True, comment="YYYY-MM-DD the night began"),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("lab", sa.String(500), nullable=False),
    sa.Column("app_version", sa.String(100), nullable=False),
    sa.Column("app_build", sa.String(100), nullable=False),
    sa.Column("harness_version", sa.String(100), nullable=False),
    sa.Column("started_at", sa.Double, nullable=False, comment="seconds since the epoch"),
    sa.Column("duration_s", sa.Double, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False, comment="the report folder it was ingested from"),
)

results = sa.Table(
    "results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False, comment="index in the run's results.json"),
    sa.Column("nodeid", sa.Text, nullable=False),
    sa.Column("scenario", sa.String(500), nullable=False, index=True),
    sa.Column("device", sa.String(255), nullable=False),
    sa.Column("udid", sa.String(100), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("ios", sa.String(50), nullable=False),
    sa.Column("app_version", sa.String(100), nullable=False),
    sa.Column("app_build", sa.String(100), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("lab_tag", sa.String(100), nullable=False),
    sa.Column("duration_s", sa.Double, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.UniqueConstraint("run_id", "position", name="uq_results_run_position"),
)

metrics = sa.Table(
    "metrics", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.UniqueConstraint("result_id", "name", name="uq_metrics_result_name"),
)
