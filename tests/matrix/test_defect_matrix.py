"""The defect matrix: every defect against the scenarios that declare it, and the correct app
against the whole catalog.

A defect counts as caught by a scenario only when the scenario (any of its cases) fails as an app
failure naming the rule the defect breaks, and every scenario that declares a defect must catch it;
the correct app must pass everywhere. Each cell is a real ``harness run`` on its own virtual
lab (the test process never imports the virtual lab). The matrix is printed (``-s`` shows it) and
written to ``matrix.json`` under the test's tmp dir.

Pairwise, to fit CI: each defect runs in one logging mode, alternating (six with the app's log
off, five with it on); the correct app runs here with its logging off on every variant value
neither the default nor ``field`` shows (``tests/variants/plan.py``), and with its logging on in
the survey's replay run (default variants) and the field run. The verdicts never read the app's
own log lines (they are report annotations), so a defect caught in one mode is caught in the
other, and the correct app passes in both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.verdicts.defects import DEFECTS
from harness.verdicts.playbook import RULES
from tests.catalog_run import declared, harness_run, scenario
from tests.variants.plan import CORRECT_APP_VARIANTS, variant_args

LOGGING = ("on", "off")


def defect_logging() -> dict[str, str]:
    """The logging mode each defect runs in: alternating over the sorted defects, off first."""
    return {name: ("off", "on")[i % 2] for i, name in enumerate(sorted(DEFECTS))}


def defect_rules() -> dict[str, str]:
    """The public defect catalog: each defect and the rule it breaks."""
    return {name: d.rule for name, d in DEFECTS.items()}


def test_every_defect_is_declared_by_a_scenario_and_names_a_known_rule() -> None:
    rules, by_defect = defect_rules(), declared()
    assert len(rules) == 11
    for defect, rule in rules.items():
        assert rule in RULES, (defect, rule)
        assert by_defect.get(defect), f"no scenario declares @pytest.mark.catches({defect!r})"
    assert set(by_defect) <= set(rules), set(by_defect) - set(rules)


@pytest.mark.matrix
def test_defect_matrix(tmp_path: Path) -> None:
    """Every scenario that declares a defect must catch it, naming its rule (in the defect's logging
    mode); the correct app passes the catalog (here with its logging off)."""
    rules, by_defect = defect_rules(), declared()
    matrix: dict[tuple[str, str], dict[str, str]] = {}
    failures: list[str] = []
    for logging in LOGGING:
        if logging in CORRECT_APP_VARIANTS:
            failures += _correct_app(tmp_path, logging, matrix)
        for defect, rule in sorted(rules.items()):
            if defect_logging()[defect] != logging:
                continue
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


def _correct_app(tmp_path: Path, logging: str, matrix: dict[tuple[str, str], dict[str, str]]) -> list[str]:
    """The correct app on the whole catalog: every scenario passes, and the long interruption really
    broke the first session by ICE consent. Returns the failures."""
    failures: list[str] = []
    variants = CORRECT_APP_VARIANTS[logging]
    correct = harness_run(tmp_path / f"correct-{logging}", "--app-logging", logging, *variant_args(variants))
    bad = [t for t in correct["tests"] if t["outcome"] != "pass"]
    long = next(t for t in correct["tests"] if t["nodeid"].endswith("test_long_interruption"))
    broke = long["metrics"].get("first_session_broke_after_s")
    if broke is None or broke > long["metrics"].get("hold_s", 1e9):
        failures.append(f"logging {logging}: the long interruption did not break the first session "
                        f"by ICE consent ({broke})")
    total = len(correct["tests"])
    label = "all {} scenarios{}".format(total, ", other variant values" if variants else "")
    matrix.setdefault(("(correct app)", label), {})[logging] = f"{total - len(bad)}/{total} pass"
    return failures + [f"correct app, logging {logging}: {t['nodeid']} {t['outcome']} {t.get('message', '')}"
                       for t in bad]
