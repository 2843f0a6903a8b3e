"""Actions mark the moment a recipe acted (Match.t_ns), not the moment it returned: with a real WDA's
find latency a recipe returns seconds after its tap (it checks for a second window, the screen).
Two virtual phones with WDA's slow latency; the recipes drive them through facebook-wda."""

from __future__ import annotations

import time
from types import SimpleNamespace

from harness.actions import Actions
from harness.phone import Phone
from harness.timeline import Timeline
from tests.wda.scene import VOICE_APP, Scene, scene_fixture

ENV = {"HARNESS_WHIP_URL": "http://127.0.0.1:9/whip", "HARNESS_WHIP_TOKEN": "t"}


def test_call_marks_are_at_the_taps_not_when_the_recipes_returned(tmp_path) -> None:
    for scene in scene_fixture():
        _run(scene, tmp_path)


def _run(scene: Scene, tmp_path) -> None:
    slow = {"wda_latency": "slow"}
    a = scene.add_phone(number="+15550100001", apple_id="a@example.com", name="caller", variants=slow)
    b = scene.add_phone(number="+15550100002", apple_id="b@example.com", name="dut", variants=slow)
    tl = Timeline()
    caller = SimpleNamespace(ui=Phone(a.url, name="caller", timeline=tl, artifacts=tmp_path))
    dut = SimpleNamespace(ui=Phone(b.url, name="dut", timeline=tl, artifacts=tmp_path),
                          number="+15550100002", apple_id="b@example.com")
    dut.ui.launch_app(VOICE_APP, ENV)
    actions = Actions(dut, caller, tl)
    actions.incoming_call("tel")
    answered = actions.answer()
    ended = actions.caller_hangs_up()
    returned = time.monotonic_ns()
    carrier = {e.kind: e.t_ns for e in scene.call_events}
    assert answered.t_ns <= carrier["answered"] and ended.t_ns <= carrier["ended"] <= returned
    # the end_call recipe checked the button had gone (a find, 0.1-2 s) before it returned
    assert returned - ended.t_ns > 100_000_000
