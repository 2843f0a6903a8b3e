"""One table of lab-fault tags: every tag the code raises is in it, and the README shows it as is."""

from __future__ import annotations

import ast
from pathlib import Path

import harness.lab_faults as table
from harness.lab_faults import LAB_FAULTS, markdown_table

ROOT = Path(__file__).resolve().parents[2]
FAULT_CALLS = {"LabFault", "DeviceFault", "fault"}


def raised_tags() -> dict[str, str]:
    """Every tag written as a literal where a lab fault is raised: ``tag="..."`` in a call to a
    LabFault (or a DeviceFault / the device layer's ``fault`` helper), tag -> where."""
    found: dict[str, str] = {}
    for path in [*ROOT.glob("harness/**/*.py"), *ROOT.glob("fixtures/*.py"), *ROOT.glob("testcases/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in FAULT_CALLS:
                continue
            values = [k.value for k in node.keywords if k.arg == "tag"]
            if name != "LabFault" and len(node.args) >= 2:
                values.append(node.args[1])
            for v in values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    found[v.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
                elif isinstance(v, ast.Name) and v.id.isupper():
                    found[getattr(table, v.id, f"<{v.id} not from harness.lab_faults>")] = \
                        f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_tag_the_code_raises_is_in_the_table() -> None:
    found = raised_tags()
    assert len(found) > 30, found  # the scan sees the code (it would pass vacuously otherwise)
    unknown = {tag: where for tag, where in found.items() if tag not in LAB_FAULTS}
    assert not unknown, f"add these to harness/lab_faults.py: {unknown}"


def test_the_readme_shows_the_table_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README's table differs: paste harness.lab_faults.markdown_table()"
