"""`harness sim variants`: every variant, every value, the evidence behind each (text and JSON)."""

from __future__ import annotations

import json
import subprocess
import sys

from harness.sim import profiles, variants


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          timeout=60)


def test_the_table_lists_every_variant_value_with_its_evidence() -> None:
    run = _harness("sim", "variants")
    assert run.returncode == 0, run.stderr
    for v in variants.catalog().values():
        assert f"\n{v.name}: {v.about}" in run.stdout
        for value in v.values.values():
            for e in value.evidence:
                assert f"evidence: {e}" in run.stdout
    for key in ("signvios", "wda-unlock", "no-should-resume-line"):
        assert f"  {key}: {profiles.sources()[key]}" in run.stdout  # the evidence keys, explained


def test_the_json_form_has_one_row_per_value() -> None:
    run = _harness("sim", "variants", "--json")
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == sum(len(v.values) for v in variants.catalog().values())
    field = {r["variant"]: r["value"] for r in rows if r["field"]}
    assert field == {name: v.field for name, v in variants.catalog().items()}
    siri = {r["value"]: r["default_on_ios"] for r in rows if r["variant"] == "siri_ui"}
    assert siri == {"springboard": [18, 26, 27], "siri-view-service": [16, 17], "absent": []}
