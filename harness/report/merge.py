"""One night, many hosts: the per-host report folders combined into one report folder.

``harness merge OUT1 OUT2 ... --out NIGHT`` writes ``NIGHT/results.json`` (every host's results,
each named by its part, and ``parts``: where each host's folder is, relative to NIGHT),
``NIGHT/junit.xml`` (each host's test suite, named by its part, every test case with a ``host``
property) and ``NIGHT/index.html`` (the parts, the phones, every result), linking to each host's
own page and artifacts rather than copying them: publish NIGHT beside the host folders. The exit
code is the worst of the hosts' (:func:`harness.report.results.worst_exit_code`).

A part is named by its run's host; two runs from one host (two labs on one machine) are told apart
by their folders' names.
"""

from __future__ import annotations

import copy
import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.report.results import SCHEMA, load_test_results, read_results, summarize, worst_exit_code


@dataclass
class Part:
    label: str
    folder: Path
    data: dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return self.data.get("metadata") or {}

    @property
    def host(self) -> str:
        return str(self.meta.get("host") or "unknown-host")


def read_parts(folders: list[str | Path], night: Path) -> list[Part]:
    parts = []
    seen: set[Path] = set()
    for f in folders:
        folder = Path(f).resolve()
        if folder in seen:
            raise UsageError(f"{f}: given twice; give each host's folder once")
        seen.add(folder)
        if not (folder / "results.json").is_file():
            raise UsageError(f"{f}: no results.json here; give the report folders of `harness run --out`")
        if folder == night or night in folder.parents:
            raise UsageError(f"{f}: lies inside --out {night}; merge into a folder beside the hosts' folders")
        data = read_results(folder / "results.json")
        if data.get("parts"):
            raise UsageError(f"{f}: is a merged night already; merge the hosts' own folders")
        try:
            worst_exit_code([int(data["exit_code"])])
        except ValueError as exc:
            raise UsageError(f"{folder / 'results.json'}: {exc}") from None
        if not (folder / "junit.xml").is_file():
            raise UsageError(f"{f}: no junit.xml here; give the report folders of `harness run --out`")
        parts.append(Part("", folder, data))
    if not parts:
        raise UsageError("give the report folders to merge: harness merge OUT1 OUT2 ... --out NIGHT")
    hosts = [p.host for p in parts]
    for p in parts:
        p.label = p.host if hosts.count(p.host) == 1 else f"{p.host}:{p.folder.name}"
    labels = [p.label for p in parts]
    for i, p in enumerate(parts):
        if labels.count(p.label) > 1:
            p.label = f"{p.label}#{i + 1}"
    return parts


def merge(folders: list[str | Path], night: Path) -> dict[str, Any]:
    """Write NIGHT's results.json, junit.xml and index.html; return the merged results."""
    night = night.resolve()
    parts = read_parts(folders, night)
    data = merged_results(parts, night)
    _write(night / "results.json", _json(data))
    _write(night / "junit.xml", merged_junit(parts))
    _write(night / "index.html", render_night(data))
    return data


def _rel(path: Path, night: Path) -> str:
    return Path(os.path.relpath(path, night)).as_posix()


def merged_results(parts: list[Part], night: Path) -> dict[str, Any]:
    tests: list[dict[str, Any]] = []
    devices: dict[str, dict[str, Any]] = {}
    for k, p in enumerate(parts):
        where = _rel(p.folder, night)
        for i, t in enumerate(p.data["tests"]):
            t = copy.deepcopy(t)
            t["host"], t["part"], t["page"] = p.label, k, f"{where}/index.html#t{i}"
            t["artifacts"] = _rebase(t.get("artifacts") or {}, where)
            tests.append(t)
        for name, fields in (p.meta.get("devices") or {}).items():
            devices[f"{name} ({p.label})"] = {**fields, "name": name, "host": p.label}
    started = [float(p.meta["started_at"]) for p in parts if p.meta.get("started_at")]
    finished = [float(p.meta["finished_at"]) for p in parts if p.meta.get("finished_at")]
    results = load_test_results({"tests": tests})
    return {
        "schema": SCHEMA,
        "exit_code": int(worst_exit_code(int(p.data["exit_code"]) for p in parts)),
        "summary": summarize(results),
        "metadata": {"host": "merged", "merged_at": time.time(), "started_at": min(started, default=None),
                     "finished_at": max(finished, default=None), "devices": devices},
        "parts": [{"label": p.label, "host": p.host, "path": _rel(p.folder, night),
                   "exit_code": int(p.data["exit_code"]), "summary": p.data.get("summary") or {},
                   "started_at": p.meta.get("started_at"), "finished_at": p.meta.get("finished_at")}
                  for p in parts],
        "tests": tests,
    }


def _rebase(artifacts: dict[str, Any], where: str) -> dict[str, Any]:
    """Artifact paths (relative to the host's folder) made relative to the night's folder."""
    def move(v: Any) -> Any:
        if isinstance(v, str) and v and not os.path.isabs(v):
            return f"{where}/{v}"
        if isinstance(v, list):
            return [move(x) for x in v]
        return v

    return {k: move(v) for k, v in artifacts.items()}


def merged_junit(parts: list[Part]) -> str:
    root = ET.Element("testsuites", name="harness night")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    time_s = 0.0
    for p in parts:
        path = p.folder / "junit.xml"
        try:
            top = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise UsageError(f"{path}: not a JUnit XML file ({exc})") from None
        suites = [top] if top.tag == "testsuite" else list(top.iter("testsuite"))
        for suite in suites:
            suite = copy.deepcopy(suite)
            suite.set("name", p.label)
            suite.set("hostname", p.host)
            for case in suite.iter("testcase"):
                props = case.find("properties")
                if props is None:
                    props = ET.Element("properties")
                    case.insert(0, props)
                ET.SubElement(props, "property", name="host", value=p.label)
            for key in totals:
                totals[key] += int(suite.get(key, 0) or 0)
            time_s += float(suite.get("time", 0) or 0)
            root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{time_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_night(data: dict[str, Any]) -> str:
    from harness.report.html import CSS

    counts = ", ".join(f"{v} {k}" for k, v in data["summary"].items() if v)
    parts = "".join(
        f'<tr><td>{escape(p["label"])}</td><td>{escape(p["host"])}</td><td>{p["exit_code"]}</td>'
        f'<td>{escape(", ".join(f"{v} {k}" for k, v in p["summary"].items() if v))}</td>'
        f'<td>{_stamp(p.get("started_at"))}</td><td>{_stamp(p.get("finished_at"))}</td>'
        f'<td><a href="{escape(p["path"])}/index.html">report</a> &middot; '
        f'<a href="{escape(p["path"])}/">folder</a></td></tr>' for p in data["parts"])
    devices = "".join(
        f'<tr><td>{escape(str(d.get("name")))}</td><td>{escape(str(d.get("host")))}</td>'
        f'<td>{escape(str(d.get("role", "")))}</td><td>{escape(str(d.get("model", "")))}</td>'
        f'<td>{escape(str(d.get("ios", "")))}</td><td>{escape(str(d.get("app_version", "")))} '
        f'({escape(str(d.get("app_build", "")))})</td></tr>'
        for d in data["metadata"]["devices"].values())
    tests = []
    for t in data["tests"]:
        detail = t.get("rule") or t.get("lab_tag") or ""
        folder = (t.get("artifacts") or {}).get("dir")
        files = f' &middot; <a href="{escape(folder)}/">artifacts</a>' if folder else ""
        tests.append(f'<tr><td class="{escape(t["outcome"])}">{escape(t["outcome"])}</td>'
                     f'<td><a href="{escape(t["page"])}">{escape(t["nodeid"])}</a>{files}</td>'
                     f'<td>{escape(t["host"])}</td><td>{escape(t.get("device") or "")}</td>'
                     f'<td>{escape(detail)}</td><td>{float(t.get("duration_s") or 0):.1f}</td></tr>')
    return "\n".join([
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>harness night</title>",
        f"<style>{CSS}</style></head><body><h1>harness night: {len(data['parts'])} host(s)</h1>",
        f'<p id="run-summary">exit code <b>{data["exit_code"]}</b> (the worst of the hosts\') &mdash; '
        f'{escape(counts or "no tests")}</p>',
        '<p class="note">exit codes: 0 pass, 1 app failure, 2 usage or bad input, 3 only lab faults, '
        '4 internal error. Files: <a href="results.json">results.json</a>, '
        '<a href="junit.xml">junit.xml</a>. '
        "Each host's artifacts stay in its own folder, linked here.</p>",
        '<h2>hosts</h2><table id="parts"><tr><th>part</th><th>host</th><th>exit code</th><th>results</th>'
        f"<th>started</th><th>finished</th><th></th></tr>{parts}</table>",
        '<h2>phones</h2><table id="devices"><tr><th>phone</th><th>part</th><th>role</th><th>model</th>'
        f"<th>iOS</th><th>app</th></tr>{devices}</table>",
        '<h2>results</h2><table id="tests"><tr><th>outcome</th><th>test</th><th>part</th><th>device</th>'
        f'<th>detail</th><th>s</th></tr>{"".join(tests)}</table>',
        "</body></html>"])


def _stamp(t: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(t))) if t else "?"


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, default=str)


def _write(path: Path, text: str) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
