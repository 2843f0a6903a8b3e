"""A real PostgreSQL server for the history's tests: Debian's ``postgresql`` package, a fresh data
directory, listening on a Unix socket only (no TCP port to collide with), started and stopped here.

PostgreSQL refuses to run as root, so as root (CI) the server runs as the ``postgres`` user that
Debian's package creates (``runuser``), or ``nobody`` without it; as a normal user it runs as that user.
Missing binaries fail the test loudly with the fix (``bash bin/setup`` installs the package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

PORT = 5432  # only names the socket file (.s.PGSQL.5432) in our own folder: no TCP listener


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    assert found, "needs Debian's postgresql package (initdb, postgres): bash bin/setup installs it"
    return Path(found[-1]).parent


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], user.pw_uid, user.pw_gid
    raise AssertionError("running as root, and there is no postgres or nobody user to run PostgreSQL as")


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Yield the URL of a database on a fresh server (superuser ``harness``, trust auth on its socket)."""
    prefix, uid, gid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if uid is not None:
        for p in (root, sock):
            os.chown(p, uid, gid)
    bins = bindir()
    log = root / "server.log"
    try:
        subprocess.run([*prefix, str(bins / "initdb"), "-D", str(data), "-U", "harness", "-A", "trust",
                        "--no-sync", "-E", "UTF8", "--locale", "C"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                        "-o", f"-k {sock} -p {PORT} -c listen_addresses='' -c fsync=off", "start"],
                       check=True, capture_output=True, timeout=90)
        yield f"postgresql://harness@/postgres?host={sock}&port={PORT}"
    finally:
        subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server; its URL."""
    engine = sa.create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server_url.replace("/postgres?", f"/{name}?")
