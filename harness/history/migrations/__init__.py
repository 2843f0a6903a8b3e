"""Alembic migrations of the history database (run by :func:`harness.history.db.migrate`)."""
