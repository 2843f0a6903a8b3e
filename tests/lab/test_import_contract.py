"""The import contract covers new code: a module nobody listed that imports the virtual lab breaks it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, not the installed tree
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_new_harness_module_importing_the_virtual_lab_breaks_the_contract(tmp_path: Path) -> None:
    for part in ("harness", "fixtures"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    clean = lint(tmp_path)
    assert clean.returncode == 0, clean.stdout[-2000:]
    (tmp_path / "harness" / "scratch_probe.py").write_text("import harness.sim.lab  # noqa: F401\n")
    broken = lint(tmp_path)
    assert broken.returncode != 0, broken.stdout[-2000:]
    assert "harness.scratch_probe -> harness.sim.lab" in broken.stdout, broken.stdout[-2000:]
