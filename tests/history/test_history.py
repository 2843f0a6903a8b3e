"""``harness history``: ingest into SQLite and a real PostgreSQL server, the same trends from both,
idempotent re-ingest, concurrent ingest, migrations that match the schema, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.cli import main
from harness.history.db import History
from harness.history.folder import junit_address, read_runs
from harness.history.schema import metadata, metrics, results, runs
from tests.history.conftest import ROOT


def counts(url: str) -> dict[str, int]:
    h = History.open(url)
    try:
        with h.engine.connect() as c:
            return {t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in (runs, results, metrics)}
    finally:
        h.close()


def ingest(url: str, folders: list[Path], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["history", "ingest", *map(str, folders), "--db", url])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_sqlite_and_postgresql_give_the_same_report_and_reingest_is_a_no_op(
        tmp_path: Path, pg_url: str, night_folders: list[Path], plugin_run: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folders = [*night_folders, plugin_run]
    expected = {"runs": 21, "results": sum(len(r.results) for f in folders for r in read_runs(f)),
                "metrics": sum(len(x.metrics) for f in folders for r in read_runs(f) for x in r.results)}
    pages = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'h.sqlite'}"), ("postgresql", pg_url)):
        assert "21 run(s) added, 0 already there" in ingest(url, folders, capsys)
        assert counts(url) == expected
        assert "0 run(s) added, 21 already there" in ingest(url, folders[::-1], capsys)  # a no-op
        assert counts(url) == expected
        assert main(["history", "report", "--db", url, "--out", str(tmp_path / name)]) == 0
        assert "3 flag(s)" in capsys.readouterr().out
        pages[name] = (tmp_path / name / "index.html").read_text()
    assert pages["sqlite"] == pages["postgresql"]
    assert 'id="flags"' in pages["sqlite"] and "test_passes" in pages["sqlite"]


def test_metrics_come_from_pytests_own_junit_xml(tmp_path: Path, plugin_run: Path) -> None:
    """The numbers are read from the junit.xml pytest wrote (its format, not ours), matched to each
    result by pytest's test address; non-numeric properties (outcome, rule, device...) are not metrics."""
    root = ET.parse(plugin_run / "junit.xml").getroot()
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    nodeids = [t["nodeid"] for t in json.loads((plugin_run / "results.json").read_text())["tests"]]
    assert sorted(junit_address(n) for n in nodeids) == sorted(cases)
    (run,) = read_runs(plugin_run)
    measured = {r.scenario: r.metrics for r in run.results}
    assert measured["test_passes"] == {"resume_latency_ms": 364.5}
    assert all(m == {} for name, m in measured.items() if name != "test_passes")
    verdicts = {r.scenario: (r.outcome, r.rule, r.lab_tag) for r in run.results}
    assert verdicts["test_lab_fault_in_teardown"] == ("lab-fault", "", "wda-down")
    passed = next(r for r in run.results if r.scenario == "test_passes")
    assert (passed.device, passed.model, passed.app_build, passed.udid) == \
        ("iPhone A", "iPhone15,2", "812", "00008120-0000000000000001")
    assert run.exit_code == 4 and run.lab == "virtual" and run.app_build == "812"
    assert junit_address("testcases/test_siri.py::test_siri[plays-audio]") == \
        ("testcases.test_siri", "test_siri[plays-audio]")


def test_concurrent_ingest_from_two_processes_loses_nothing(db_url: str, night_folders: list[Path]) -> None:
    """Two hosts ingest the same twenty runs at once, in opposite orders: each run is there once, whole."""
    History.open(db_url).close()  # the schema first, as on a shared server set up once
    cmd = [sys.executable, "-m", "harness", "history", "ingest", "--db", db_url]
    procs = [subprocess.Popen([*cmd, *map(str, order)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for order in (night_folders, night_folders[::-1])]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    added = [int(o.split(" run(s) added")[0].rsplit("\n", 1)[-1]) for o, _ in outs]
    assert sum(added) == 20, outs
    found = [r for f in night_folders for r in read_runs(f)]
    expected = {"runs": 20, "results": sum(len(r.results) for r in found),
                "metrics": sum(len(x.metrics) for r in found for x in r.results)}
    assert counts(db_url) == expected


def test_concurrent_first_use_migrates_once(tmp_path: Path, pg_url: str, night_folders: list[Path]) -> None:
    """Two hosts meeting an empty database at once: one migrates, the other waits, both ingest."""
    for url in (f"sqlite:///{tmp_path / 'fresh.sqlite'}", pg_url):
        cmd = [sys.executable, "-m", "harness", "history", "ingest", "--db", url]
        procs = [subprocess.Popen([*cmd, str(f)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for f in night_folders[:2]]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert counts(url)["runs"] == 2


def test_the_migrations_make_exactly_the_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    h = History.open(db_url)
    try:
        with h.engine.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c), metadata)
            version = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        h.close()
    assert diff == [] and version == "0001"


@pytest.mark.parametrize(("args", "words"), [
    (["history", "ingest", "/nonexistent/out"], ["/nonexistent/out", "no such results file"]),
    (["history", "ingest", "OUT", "--db", "mysql://u@h/db"], ["mysql", "SQLite and PostgreSQL"]),
    (["history", "ingest", "OUT", "--db", "sqlite:////nonexistent/dir/h.sqlite"],
     ["/nonexistent/dir", "create it"]),
    (["history", "ingest", "OUT", "--db", "not a url"], ["not a database URL", "sqlite:///"]),
    (["history", "ingest", "OUT", "--db", "postgresql://harness@/h?host=/nonexistent-socket-dir"],
     ["cannot open the history database", "server up"]),
    (["history", "ingest", "OUT", "--night", "yesterday"], ["--night", "YYYY-MM-DD"]),
    (["history", "report", "--nights", "0", "--out", "x"], ["--nights", "1 or more"]),
])
def test_bad_input_is_a_usage_error_naming_the_fix(args: list[str], words: list[str], tmp_path: Path,
                                                    plugin_run: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(plugin_run) if a == "OUT" else a for a in args]
    if "--db" not in args:
        args += ["--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def test_a_folder_that_is_not_a_report_is_refused_before_anything_is_written(
        tmp_path: Path, night_folders: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text("{not json")
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert main(["history", "ingest", str(night_folders[0]), str(bad), "--db", url]) == 2
    assert "not a results.json" in capsys.readouterr().err
    assert not (tmp_path / "h.sqlite").exists()
