"""A report folder read as history: the run, its results and every numeric measurement.

A folder is what ``harness run --out`` writes (``results.json``, ``junit.xml``) or what ``harness
merge`` writes for a night (its ``results.json`` lists the hosts' folders as ``parts``: each part is
read as its own run). Measurements come from ``junit.xml`` (every ``<property>`` whose value is a
finite number) when it is there, else from ``results.json``'s ``metrics``; junit.xml test cases are
matched to results by pytest's own test address (:func:`junit_address`).
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.report.recorder import RESERVED_PROPERTIES
from harness.report.results import OUTCOMES, read_results

NIGHT_STARTS_BEFORE_NOON_H = 12
"""A run belongs to the night that began on the date of its start minus this many hours (local
time): runs from 12:00 one day to 11:59 the next are one night."""


@dataclass
class ResultRecord:
    position: int
    nodeid: str
    scenario: str
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
    message: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class RunRecord:
    run_key: str
    night: str
    host: str
    lab: str
    app_version: str
    app_build: str
    harness_version: str
    started_at: float
    duration_s: float
    exit_code: int
    source: str
    results: list[ResultRecord] = field(default_factory=list)


def night_of(started_at: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(started_at - NIGHT_STARTS_BEFORE_NOON_H * 3600))


def read_runs(folder: str | Path, night: str | None = None) -> list[RunRecord]:
    """The runs in a report folder (one, or a merged night's parts); UsageError naming what is wrong."""
    folder = Path(folder)
    path = folder / "results.json" if folder.is_dir() else folder
    if folder.is_dir() and not path.is_file():
        raise UsageError(f"{folder}: no results.json here; give report folders written by `harness run` "
                         "or `harness merge`")
    data = read_results(path)
    parts = data.get("parts")
    if parts:
        runs: list[RunRecord] = []
        for part in parts:
            runs += read_runs(path.parent / part["path"], night)
        return runs
    return [read_run(path.parent, data, night)]


def read_run(folder: Path, data: dict[str, Any], night: str | None = None) -> RunRecord:
    meta = data.get("metadata") or {}
    where = folder / "results.json"
    started = _number(meta.get("started_at") or meta.get("recorded_at"))
    if started is None:
        raise UsageError(f"{where}: metadata has no started_at; not a run written by `harness run`")
    finished = _number(meta.get("finished_at")) or started
    host = str(meta.get("host") or "unknown-host")
    devices = meta.get("devices") or {}
    junit = junit_metrics(folder / "junit.xml")
    results = []
    for i, t in enumerate(data["tests"]):
        if t.get("outcome") not in OUTCOMES:
            raise UsageError(f"{where}: test {i} has outcome {t.get('outcome')!r}, not one of {OUTCOMES}")
        nodeid = str(t["nodeid"])
        dev = devices.get(t.get("device") or "") or {}
        measured = junit.pop_for(nodeid) if junit is not None else _numeric(t.get("metrics") or {})
        results.append(ResultRecord(
            position=i, nodeid=nodeid, scenario=str(t.get("name") or nodeid.rsplit("::", 1)[-1]),
            device=str(t.get("device") or ""), udid=str(dev.get("udid") or ""),
            model=str(dev.get("model") or ""),
            ios=str(dev.get("ios") or ""), app_version=str(dev.get("app_version") or ""),
            app_build=str(dev.get("app_build") or ""), outcome=t["outcome"], rule=str(t.get("rule") or ""),
            lab_tag=str(t.get("lab_tag") or ""), duration_s=float(t.get("duration_s") or 0.0),
            message=str(t.get("message") or "")[:2000], metrics=measured))
    duts = [d for d in devices.values()
            if d.get("role", "dut") == "dut" and (d.get("app_build") or d.get("app_version"))]
    pid = meta.get("pid", "")
    return RunRecord(
        run_key=f"{host}/{started:.6f}/{pid}", night=night or night_of(started), host=host,
        lab=lab_name(meta, folder), app_version=_joined(d.get("app_version") for d in duts),
        app_build=_joined(d.get("app_build") for d in duts),
        harness_version=str((meta.get("versions") or {}).get("voiceharness") or ""),
        started_at=started, duration_s=round(max(finished - started, 0.0), 3),
        exit_code=int(data["exit_code"]),
        source=str(folder.resolve()), results=results)


def lab_name(meta: dict[str, Any], folder: Path) -> str:
    """``virtual`` for the virtual lab, else the lab file the run used (as its host named it)."""
    lab = meta.get("lab")
    if not lab:
        return "virtual"  # the plugin starts the virtual lab when given no --lab
    candidates = [Path(str(lab))]
    if Path(str(lab)).parent.name == "virtual-lab":  # harness run keeps the virtual lab's state in --out
        candidates.append(folder / "virtual-lab" / Path(str(lab)).name)
    for path in candidates:
        if path.is_file():
            try:
                from harness.lab.schema import Lab

                if Lab.load(path).virtual:
                    return "virtual"
            except Exception:  # a lab file that no longer loads: name it by its path
                pass
            break
    return str(lab)


class JunitMetrics:
    """Numeric properties per test case of a junit.xml, handed out in file order per test address."""

    def __init__(self, cases: dict[tuple[str, str], list[dict[str, float]]]) -> None:
        self.cases = cases

    def pop_for(self, nodeid: str) -> dict[str, float]:
        queue = self.cases.get(junit_address(nodeid))
        return queue.pop(0) if queue else {}


def junit_metrics(path: Path) -> JunitMetrics | None:
    if not path.is_file():
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UsageError(f"{path}: not a JUnit XML file ({exc})") from None
    cases: dict[tuple[str, str], list[dict[str, float]]] = {}
    for case in root.iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        cases.setdefault((case.get("classname", ""), case.get("name", "")), []).append(
            _numeric({k: v for k, v in props.items() if k not in RESERVED_PROPERTIES}))
    return JunitMetrics(cases)


def junit_address(nodeid: str) -> tuple[str, str]:
    """(classname, name) pytest's junitxml writes for a node id: as ``_pytest.junitxml``'s
    ``mangle_test_address`` (pytest 8): the path's ``/`` become ``.``, ``.py`` goes, parameters stay
    on the name."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = names[0].replace("/", ".").removesuffix(".py")
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _numeric(values: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in values.items():
        number = _number(v)
        if number is not None:
            out[str(k)] = number
    return out


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _joined(values: Any) -> str:
    return ",".join(sorted({str(v) for v in values if v}))
