"""The defect matrix: every defect against the scenarios that declare it, and the correct app
against the whole catalog, with the app's logging on and off.

A defect counts as caught only when a scenario fails as an app failure naming the rule the defect
breaks; the correct app must pass everywhere. Each cell is a real ``harness run`` on its own virtual
lab (the test process never imports the virtual lab). The matrix is printed (``-s`` shows it) and
written to ``matrix.json`` under the test's tmp dir.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.playbook import RULES

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "testcases"
LOGGING = ("on", "off")


def defect_rules() -> dict[str, str]:
    """The virtual app's defects and the rule each breaks, read from its playbook source (the test
    side must not import harness.sim)."""
    tree = ast.parse((ROOT / "harness/sim/voiceapp/playbook.py").read_text())
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Defect":
            name, rule = (a.value for a in node.args[:2])  # type: ignore[attr-defined]
            out[name] = rule
    return out


def declared() -> dict[str, list[str]]:
    """defect -> the catalog files whose scenarios declare it (``@pytest.mark.catches``)."""
    out: dict[str, list[str]] = {}
    for path in sorted(CATALOG.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "catches":
                for arg in node.args:
                    out.setdefault(arg.value, []).append(str(path.relative_to(ROOT)))  # type: ignore[attr-defined]
    return out


def harness_run(out: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "--out", str(out), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    results = out / "results.json"
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(results.read_text()) | {"exit_code_seen": proc.returncode}


def test_every_defect_is_declared_by_a_scenario_and_names_a_known_rule() -> None:
    rules, by_defect = defect_rules(), declared()
    assert len(rules) == 11
    for defect, rule in rules.items():
        assert rule in RULES, (defect, rule)
        assert by_defect.get(defect), f"no scenario declares @pytest.mark.catches({defect!r})"
    assert set(by_defect) <= set(rules), set(by_defect) - set(rules)


@pytest.mark.matrix
def test_defect_matrix(tmp_path: Path) -> None:
    rules, by_defect = defect_rules(), declared()
    matrix: dict[str, dict[str, str]] = {}
    failures: list[str] = []
    for logging in LOGGING:
        correct = harness_run(tmp_path / f"correct-{logging}", "--app-logging", logging)
        bad = [t for t in correct["tests"] if t["outcome"] != "pass"]
        long = next(t for t in correct["tests"] if t["nodeid"].endswith("test_long_interruption"))
        broke = long["metrics"].get("first_session_broke_after_s")
        if broke is None or broke > long["metrics"].get("hold_s", 1e9):
            failures.append(f"logging {logging}: the long interruption did not break the first session "
                            f"by ICE consent ({broke})")
        matrix.setdefault("(correct app)", {})[logging] = "pass" if not bad else f"{len(bad)} not passing"
        failures += [f"correct app, logging {logging}: {t['nodeid']} {t['outcome']} {t.get('message', '')}"
                     for t in bad]
        for defect, rule in sorted(rules.items()):
            res = harness_run(tmp_path / f"{defect}-{logging}", "--defect", defect, "--app-logging", logging,
                              *sorted(set(by_defect[defect])))
            named = [t for t in res["tests"] if t["outcome"] == "app-failure" and t.get("rule") == rule]
            lab = [t for t in res["tests"] if t["outcome"] == "lab-fault"]
            cell = f"caught by {named[0]['nodeid'].split('::')[-1]}" if named else "MISSED"
            matrix.setdefault(defect, {})[logging] = cell
            if not named:
                seen = "; ".join(f"{t['nodeid']} {t['outcome']} {t.get('rule', '')}" for t in res["tests"])
                failures.append(f"{defect} (logging {logging}) not caught with rule {rule}: {seen}")
            if lab:
                failures.append(f"{defect} (logging {logging}) classed as a lab fault: {lab[0]['nodeid']}")
            if res["exit_code_seen"] != 1:
                failures.append(f"{defect} (logging {logging}): exit code {res['exit_code_seen']}, not 1")
    (tmp_path / "matrix.json").write_text(json.dumps(matrix, indent=2))
    width = max(map(len, matrix))
    print(f"\n{'defect':<{width}}  {'logging on':<40} logging off")
    for name, cells in matrix.items():
        print(f"{name:<{width}}  {cells.get('on', ''):<40} {cells.get('off', '')}")
    assert not failures, "\n".join(failures)
