"""runs, results and metrics

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_key", sa.String(300), nullable=False,
                  comment="host/started_at/pid of the run: the same run ingested twice has the same key"),
        sa.Column("night", sa.String(10), nullable=False, comment="YYYY-MM-DD the night began"),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("lab", sa.String(500), nullable=False),
        sa.Column("app_version", sa.String(100), nullable=False),
        sa.Column("app_build", sa.String(100), nullable=False),
        sa.Column("harness_version", sa.String(100), nullable=False),
        sa.Column("started_at", sa.Double, nullable=False, comment="seconds since the epoch"),
        sa.Column("duration_s", sa.Double, nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False, comment="the report folder it was ingested from"),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("run_key", name="uq_runs_run_key"),
    )
    op.create_index("ix_runs_night", "runs", ["night"])
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False, comment="index in the run's results.json"),
        sa.Column("nodeid", sa.Text, nullable=False),
        sa.Column("scenario", sa.String(500), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_results"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_results_run_id_runs", ondelete="CASCADE"),
        sa.UniqueConstraint("run_id", "position", name="uq_results_run_position"),
    )
    op.create_index("ix_results_run_id", "results", ["run_id"])
    op.create_index("ix_results_scenario", "results", ["scenario"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("result_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.ForeignKeyConstraint(["result_id"], ["results.id"], name="fk_metrics_result_id_results",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("result_id", "name", name="uq_metrics_result_name"),
    )
    op.create_index("ix_metrics_result_id", "metrics", ["result_id"])


def downgrade() -> None:
    op.drop_table("metrics")
    op.drop_table("results")
    op.drop_table("runs")
