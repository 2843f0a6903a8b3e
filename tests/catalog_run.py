"""One real ``harness run`` of (part of) the catalog on its own virtual lab, as the matrix and the
variant runs use it: two workers, as the main job runs (CI has 2 cores); the test process never
imports the virtual lab."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "testcases"


def harness_run(out: Path, *args: str) -> dict[str, Any]:
    """``results.json`` of the run, with its exit code as ``exit_code_seen``."""
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-n", "2", "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    results = out / "results.json"
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(results.read_text()) | {"exit_code_seen": proc.returncode}


def scenario(nodeid: str) -> str:
    """``testcases/test_siri.py::test_siri[question]`` -> ``test_siri``: a scenario catches a defect
    when any of its cases does."""
    return nodeid.split("::")[-1].split("[")[0]


def summary(res: dict[str, Any]) -> str:
    """One line per result: outcome, node id, rule or lab tag, message."""
    return "\n".join(f"{t['outcome']:<12} {t['nodeid']} {t.get('rule') or t.get('lab_tag') or ''} "
                     f"{t.get('message', '')[:200]}" for t in res["tests"])


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
