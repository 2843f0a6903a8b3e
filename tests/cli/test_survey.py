"""``harness phone survey`` end to end on the virtual lab, and the round trip through its profile.

Three surveys (one virtual lab each, the DUT on iOS 18.2 or 17.5.1) cover every value of every
variant a survey observes, in a compact set: the default variants, ``--variant field``, and the
remaining values together. Each must exit 0, reach every state, and write a profile whose
``defaults`` are the variant values the virtual phone ran with, free of the lab's phone numbers,
Apple IDs and names; the default and field surveys' reports open in headless Chromium.
``harness doctor --profile`` passes on every recipe and names the recipe a changed screen breaks;
the catalog passes on a virtual lab that replays a survey's profile (``harness run
--sim-phone-profile``, through ``harness sim up --phone-profile``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.errors import ExitCode
from harness.lab.schema import Lab
from harness.lab.virtual import start_lab_process
from harness.phone.survey.privacy import Scrubber
from harness.phone.survey.profile import LOG_VOLUME_IDLE, QUIET_BELOW, WDA_LATENCY
from harness.sim import profiles, variants
from tests.report.chromium import open_page

pytestmark = pytest.mark.slow  # four surveys on virtual labs at once (~5 min), then a catalog run (~3 min)
ROOT = Path(__file__).resolve().parents[2]
OBSERVED = ("dial_prompt", "incoming_call", "second_accept", "timer_ending", "siri_ui", "offscreen_cells",
            "reset_confirmation", "wda_latency", "log_volume")
"""The variants a survey observes (the others are not visible to it: Live Voicemail and the audio
daemon's line need an app in a call, a passcode or a replaced WDA session are lab set-up)."""
REST = ("incoming_call=full-screen", "second_accept=incallservice", "timer_ending=banner",
        "siri_ui=siri-view-service", "offscreen_cells=present", "reset_confirmation=none",
        "wda_latency=instant", "log_volume=quiet")
SURVEYS = {"default": ("18.2", ()), "field": ("18.2", ("field",)), "rest": ("17.5.1", REST)}
STATES = ("home", "locked", "caller-home", "app-in-front", "dial-prompt", "incoming-app", "answered",
          "in-call", "ended", "incoming-home", "declined", "incoming-locked", "in-call-locked",
          "siri-question", "siri-music", "timer-set", "timer-ending", "control-center", "settings-root",
          "settings-bluetooth", "settings-developer", "reset-sheet", "music", "music-playing")


def harness(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class Survey:
    name: str
    out: Path
    run: subprocess.CompletedProcess[str]
    seconds: float
    expected: dict[str, str]
    lab: Lab

    @property
    def profile(self) -> dict:
        return yaml.safe_load((self.out / "profile.yaml").read_text())

    @property
    def summary(self) -> dict:
        return json.loads((self.out / "survey.json").read_text())


UNREACHABLE = ("18.2", ("wda_latency=instant",))
"""The survey that cannot reach some states (no DUT number, Control Center's elements gone)."""
WORKERS = 4
"""The surveys run at once (each its own virtual lab): a survey mostly waits on WDA's modelled latency
and the phones' timers (a field survey's lab and client used a quarter of a core), so they share CI's
two cores; the slowest (field, WDA's slow finds) sets the time."""


def _survey(name: str, ios: str, chosen: tuple[str, ...], base: Path) -> Survey:
    with start_lab_process(base / "lab", phones=2, ios_versions=ios, variants=chosen) as sim:
        lab_yaml = sim.lab_yaml
        if name == "unreachable":
            doc = yaml.safe_load(sim.lab_yaml.read_text())
            dut = next(d for d in doc["devices"] if d["name"] == "Virtual iPhone A")
            dut.pop("phone_number")
            lab_yaml = base / "lab-without-number.yaml"
            lab_yaml.write_text(yaml.safe_dump(doc, sort_keys=False))
            _mutate(sim, dut["udid"], ["cc.view", "cc.bluetooth"])
        start = time.monotonic()
        run = harness("phone", "survey", "--lab", str(lab_yaml), "--device", "Virtual iPhone A",
                      "--caller", "Virtual iPhone B", "--out", str(base / "out"), "--log-window", "2",
                      "--timer", "4")
        seconds = time.monotonic() - start
        lab = Lab.load(lab_yaml)
    major = int(ios.split(".")[0])
    resolved = variants.resolve(variants.parse(list(chosen)), profiles.load(major).defaults)
    print(f"survey {name} (iOS {ios}, {' '.join(chosen) or 'default variants'}): {seconds:.1f} s")
    return Survey(name, base / "out", run, seconds, {k: resolved[k] for k in OBSERVED}, lab)


@pytest.fixture(scope="module")
def surveys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Survey]:
    """The three surveys of :data:`SURVEYS` and the one of :data:`UNREACHABLE`, slowest first."""
    jobs = {"field": SURVEYS["field"], "default": SURVEYS["default"], "rest": SURVEYS["rest"],
            "unreachable": UNREACHABLE}
    bases = {name: tmp_path_factory.mktemp(f"survey-{name}") for name in jobs}
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(_survey, name, ios, chosen, bases[name])
                   for name, (ios, chosen) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def _mutate(sim, udid: str, mutations: list[str]) -> None:
    """The virtual phone's SpringBoard without these profile elements (as after an iOS update)."""
    req = urllib.request.Request(f"{sim.control_url}/phones/{udid}/springboard/mutations",
                                 data=json.dumps({"mutations": mutations}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def test_a_state_it_cannot_reach_is_recorded_with_why_and_the_survey_goes_on(surveys) -> None:
    """Two ways a real lab's survey misses states: the lab file gives the DUT no number (no call can
    ring: every call state is unreachable, saying to add it) and a recipe misses (Control Center's
    elements gone from SpringBoard, as after an iOS update). The survey still exits 0 with every
    state recorded, and the report says which and why."""
    s = surveys["unreachable"]
    assert s.run.returncode == 0, (s.run.stdout + s.run.stderr)[-4000:]
    status = {st["name"]: (st["status"], st["why"]) for st in s.summary["states"]}
    assert tuple(status) == STATES
    calls = STATES[STATES.index("caller-home"):STATES.index("in-call-locked") + 1]
    unreachable = {k for k, (st, _why) in status.items() if st != "reached"}
    assert unreachable == {*calls, "control-center"}, status
    assert all("no phone_number" in status[k][1] and "add it to lab.yaml" in status[k][1] for k in calls)
    assert "open_control_center found none of its locators" in status["control-center"][1]
    assert f"{len(STATES) - len(unreachable)} of {len(STATES)} states reached; unreachable: " in s.run.stdout
    html = (s.out / "survey.html").read_text()
    assert html.count("class='unreachable'>unreachable") >= len(unreachable)
    assert (s.out / "profile.yaml").exists()


def test_the_compact_set_covers_every_value_of_every_observed_variant() -> None:
    seen: dict[str, set[str]] = {v: set() for v in OBSERVED}
    for ios, chosen in SURVEYS.values():
        shipped = profiles.load(int(ios.split(".")[0])).defaults
        resolved = variants.resolve(variants.parse(list(chosen)), shipped)
        for v in OBSERVED:
            seen[v].add(resolved[v])
    assert seen == {v: set(variants.catalog()[v].values) for v in OBSERVED}
    # the survey's latency table is the variant table's medians
    for value, (find, source) in WDA_LATENCY.items():
        params = variants.params("wda_latency", value)
        assert (params["find"][0], params["source"][0]) == (find, source)
    # ... and its log-volume table the profiles' idle rates
    for major in profiles.majors():
        table = profiles.load(major).log_volume
        assert {v: float(r["idle"]) for v, r in table.items() if v != "quiet"} == LOG_VOLUME_IDLE
        assert table["quiet"]["idle"] < QUIET_BELOW


@pytest.mark.parametrize("name", list(SURVEYS))
def test_a_survey_reaches_every_state_and_its_profile_holds_the_phone_variants(surveys, name: str) -> None:
    s = surveys[name]
    text = s.run.stdout + s.run.stderr
    assert s.run.returncode == 0, text[-4000:]
    summary = s.summary
    status = {st["name"]: (st["status"], st["why"]) for st in summary["states"]}
    assert tuple(status) == STATES
    missed = {k: v for k, v in status.items() if v[0] != "reached"}
    assert not missed, missed
    assert f"{len(STATES)} of {len(STATES)} states reached" in s.run.stdout
    doc = s.profile
    assert {k: doc["defaults"].get(k) for k in OBSERVED} == s.expected
    assert doc["survey"]["measured"]["find_s"]["n"] == 8 and doc["survey"]["measured"]["log_lines_per_s"]
    # every element says where it was seen
    prov = doc["survey"]["provenance"]
    assert re.fullmatch(r"survey iPhone\d+,\d+ \w+ \d{4}-\d\d-\d\d", prov)
    for screen in doc["screens"].values():
        stack = list(screen["tree"])
        while stack:
            node = stack.pop()
            node = node.get("template", node)
            assert node["provenance"].startswith(prov), node
            stack += node.get("children", [])
    assert not summary["problems"], summary["problems"]
    # the profile is one the virtual lab replays
    assert profiles.load_file(s.out / "profile.yaml").defaults == doc["defaults"]


def test_the_profile_holds_no_phone_number_apple_id_or_name(surveys) -> None:
    for s in (surveys[name] for name in SURVEYS):
        text = (s.out / "profile.yaml").read_text()
        scrubber = Scrubber(numbers=[d.phone_number for d in s.lab.devices if d.phone_number])
        scrubber.add_names([d.name for d in s.lab.devices])
        personal = [*(d.phone_number for d in s.lab.devices), *(d.apple_id for d in s.lab.devices),
                    *(d.name for d in s.lab.devices)]
        assert [p for p in personal if p and p in text] == []
        assert scrubber.found_in_doc(yaml.safe_load(text)) == []
        # ... although the phones showed them: the caller's number is in the DUT's raw ringing screen
        raw = "".join(p.read_text() for p in (s.out / "raw" / "states").glob("*incoming-app/dut.*.xml"))
        caller = next(d for d in s.lab.devices if d.role == "caller")
        assert caller.phone_number in raw
        assert "{caller}" in text and s.profile["survey"]["scrubbed"]["known number"] > 0


@pytest.mark.parametrize("name", ["default", "field"])
async def test_the_report_opens_in_headless_chromium(surveys, name: str, tmp_path: Path) -> None:
    s = surveys[name]
    page, close = await open_page((s.out / "survey.html").as_uri(), tmp_path / "chromium")
    try:
        dom = json.loads(await page.evaluate("""JSON.stringify({
            states: document.querySelectorAll('h2.state-title').length,
            shots: [...document.querySelectorAll('img.screenshot')].map(i => i.naturalWidth),
            facts: document.querySelectorAll('#facts tr').length,
            matched: document.querySelectorAll('table.locators tr.match').length,
            logs: document.querySelectorAll('pre.log').length,
            reached: document.querySelector('#reached').textContent,
        })"""))
        errors = list(page.errors)
    finally:
        await close()
    assert errors == [], errors
    assert dom["states"] == len(STATES) and dom["reached"].startswith(f"{len(STATES)} of {len(STATES)}")
    assert len(dom["shots"]) >= len(STATES) - 1 and min(dom["shots"]) == 390  # every screenshot loads
    assert dom["facts"] == len(OBSERVED) + 1 and dom["matched"] >= 15 and dom["logs"] >= 3


def test_the_doctor_passes_every_recipe_on_a_survey_and_names_the_one_a_changed_screen_breaks(
        surveys, tmp_path: Path) -> None:
    s = surveys["default"]
    path = s.out / "profile.yaml"
    ok = harness("doctor", "--profile", str(path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "FAIL" not in ok.stdout and "recipe answer_call: incoming.banner:" in ok.stdout
    doc = yaml.safe_load(path.read_text())
    screen = doc["screens"]["incoming.banner"]
    stack = list(screen["tree"])
    changed = 0
    while stack:
        node = stack.pop()
        if node.get("action") == "call.accept":
            node.update(label="Pick up", id="pickUp")
            changed += 1
        stack += node.get("children", [])
    assert changed == 1
    broken = tmp_path / "profile.yaml"
    broken.write_text(yaml.safe_dump(doc, sort_keys=False))
    bad = harness("doctor", "--profile", str(broken))
    assert bad.returncode == ExitCode.LAB_FAULT, bad.stdout + bad.stderr
    fails = [line for line in bad.stdout.splitlines() if line.strip().startswith("FAIL")]
    assert len(fails) == 1 and "recipe answer_call: incoming.banner (owner" in fails[0]
    assert "Button 'Pick up' (name=pickUp)" in fails[0]
    # the lab fixes it with a locator of its own, taken from the candidates
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"devices": [{"name": "DUT", "udid": "00008120-001A2B3C4D5E6F70"}],
                                   "locators": {"answer_call": [{"id": "pickUp", "source": "survey"}]}}))
    fixed = harness("doctor", "--profile", str(broken), "--lab", str(lab))
    assert fixed.returncode == 0 and "(the lab file's)" in fixed.stdout, fixed.stdout + fixed.stderr


def test_the_catalog_passes_on_a_virtual_lab_replaying_a_survey_profile(surveys, tmp_path: Path) -> None:
    """The default survey's profile: this is also bin/tests' run of the correct app on the default
    variants with its logging on (tests/variants/plan.py; the defect matrix does not repeat it)."""
    s = surveys["default"]
    run = harness("run", "-n", "2", "--sim-phone-profile", str(s.out / "profile.yaml"),
                  "--out", str(tmp_path), timeout=1200)
    results = json.loads((tmp_path / "results.json").read_text())
    outcomes = {t["name"]: t["outcome"] for t in results["tests"]}
    assert run.returncode == 0, (outcomes, (run.stdout + run.stderr)[-3000:])
    assert len(outcomes) == 17 and set(outcomes.values()) == {"pass"}
    sim_log = (tmp_path / "virtual-lab" / "sim.log").read_text()
    assert "phone profile:" in sim_log and "incoming_call=banner" in sim_log
