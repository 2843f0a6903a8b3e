"""The nightly history: runs from many lab hosts in one database, and the trends page over nights.

``harness history ingest OUT...`` stores report folders (:mod:`.folder` reads them, :mod:`.ingest`
writes them); ``harness history report`` reads a window of nights back (:mod:`.query`), judges it
(:mod:`.trends`: pass rates, metric trends and outliers, new failures, flaky scenarios, lab health)
and writes ``index.html`` (:mod:`.page`). The database is SQLite or PostgreSQL through SQLAlchemy
Core, its schema made by Alembic migrations (:mod:`.db`, :mod:`.schema`, ``migrations/``).
"""
