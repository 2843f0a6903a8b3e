"""The defect matrix: every defect against the scenarios that declare it, and the correct app
against the whole catalog, with the app's logging on and off.

A defect counts as caught by a scenario only when the scenario (any of its cases) fails as an app
failure naming the rule the defect breaks, and every scenario that declares a defect must catch it;
the correct app must pass everywhere. Each cell is a real ``harness run`` on its own virtual
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

from harness.verdicts.defects import DEFECTS
from harness.verdicts.playbook import RULES

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "testcases"
LOGGING = ("on", "off")


def defect_rules() -> dict[str, str]:
    """The public defect catalog: each defect and the rule it breaks."""
    return {name: d.rule for name, d in DEFECTS.items()}


def declared() -> dict[str, dict[str, str]]:
    """defect -> {scenario function: its catalog file} for every scenario that declares it
    (``@pytest.mark.catches``)."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOG.glob("test_*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in fn.decorator_list:
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "catches":
                    for arg in node.args:
                        out.setdefault(arg.value, {})[fn.name] = str(path.relative_to(ROOT))  # type: ignore[attr-defined]
    return out


def scenario(nodeid: str) -> str:
    """``testcases/test_siri.py::test_siri[question]`` -> ``test_siri``: a scenario catches a defect
    when any of its cases does."""
    return nodeid.split("::")[-1].split("[")[0]


def harness_run(out: Path, *args: str) -> dict:
    # two workers, as the main job runs (CI has 2 cores)
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-n", "2", "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
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
    """Every scenario that declares a defect must catch it, naming its rule, in both logging modes."""
    rules, by_defect = defect_rules(), declared()
    matrix: dict[tuple[str, str], dict[str, str]] = {}
    failures: list[str] = []
    for logging in LOGGING:
        correct = harness_run(tmp_path / f"correct-{logging}", "--app-logging", logging)
        bad = [t for t in correct["tests"] if t["outcome"] != "pass"]
        long = next(t for t in correct["tests"] if t["nodeid"].endswith("test_long_interruption"))
        broke = long["metrics"].get("first_session_broke_after_s")
        if broke is None or broke > long["metrics"].get("hold_s", 1e9):
            failures.append(f"logging {logging}: the long interruption did not break the first session "
                            f"by ICE consent ({broke})")
        total = len(correct["tests"])
        row = matrix.setdefault(("(correct app)", f"all {total} scenarios"), {})
        row[logging] = f"{total - len(bad)}/{total} pass"
        failures += [f"correct app, logging {logging}: {t['nodeid']} {t['outcome']} {t.get('message', '')}"
                     for t in bad]
        for defect, rule in sorted(rules.items()):
            res = harness_run(tmp_path / f"{defect}-{logging}", "--defect", defect, "--app-logging", logging,
                              *sorted(set(by_defect[defect].values())))
            lab = [t for t in res["tests"] if t["outcome"] == "lab-fault"]
            for name in sorted(by_defect[defect]):
                cases = [t for t in res["tests"] if scenario(t["nodeid"]) == name]
                named = [t for t in cases if t["outcome"] == "app-failure" and t.get("rule") == rule]
                matrix.setdefault((defect, name), {})[logging] = f"caught ({rule})" if named else "MISSED"
                if not named:
                    seen = "; ".join(f"{t['nodeid']} {t['outcome']} {t.get('rule')} {t.get('message')}"
                                     for t in cases)
                    failures.append(f"{defect} (logging {logging}) not caught by {name} with rule {rule}: "
                                    + (seen or "did not run"))
            if lab:
                failures.append(f"{defect} (logging {logging}) classed as a lab fault: {lab[0]['nodeid']}")
            if res["exit_code_seen"] != 1:
                failures.append(f"{defect} (logging {logging}): exit code {res['exit_code_seen']}, not 1")
    rows = [{"defect": d, "scenario": n, **cells} for (d, n), cells in matrix.items()]
    (tmp_path / "matrix.json").write_text(json.dumps(rows, indent=2))
    wd, ws = (max(len(k[i]) for k in matrix) for i in (0, 1))
    print(f"\n{'defect':<{wd}}  {'scenario':<{ws}}  {'logging on':<36} logging off")
    for (defect, name), cells in matrix.items():
        print(f"{defect:<{wd}}  {name:<{ws}}  {cells.get('on', ''):<36} {cells.get('off', '')}")
    assert not failures, "\n".join(failures)
