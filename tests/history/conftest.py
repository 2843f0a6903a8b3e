"""Fixtures of the history's tests: a real PostgreSQL server (one per session, a database per
test), ten synthetic nights as report folders, and one real run of the plugin (with pytest's own
junit.xml)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.history import nights, postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres.server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    return postgres.new_database(pg_server, f"h_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def night_folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return nights.write_nights(tmp_path_factory.mktemp("nights"))


@pytest.fixture(scope="session")
def plugin_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/cli/scenarios/outcomes.py through the real plugin: results.json and pytest's junit.xml."""
    out = tmp_path_factory.mktemp("plugin-run")
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/cli/scenarios/outcomes.py", "--harness-out",
                          str(out), f"--junitxml={out / 'junit.xml'}", "-o", "junit_family=xunit1",
                          "-p", "no:cacheprovider", "-q"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (out / "results.json").is_file() and (out / "junit.xml").is_file(), run.stdout[-3000:]
    return out
