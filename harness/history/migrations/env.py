"""Alembic's environment: always run from :func:`harness.history.db.migrate` on its open connection
(inside its transaction and lock), never from an ``alembic.ini``."""

from __future__ import annotations

from alembic import context

from harness.history.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the history migrations through harness.history.db.migrate "
                       "(it passes the connection)")
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
