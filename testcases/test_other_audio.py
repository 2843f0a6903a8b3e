"""Music plays when the voice call starts, and again once it ends.

Promise: during the call the music goes on, ducked (quieter, not stopped); when the call ends the
app deactivates its session telling others (notifyOthersOnDeactivation), and the music is back at
its level. Measured on the route Music plays on (the loudspeaker), from the capture alone.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_ducked, expect_restored

MUSIC_ROUTE = "speaker"


@pytest.mark.requires("other_audio")
@pytest.mark.catches("no_duck_others", "no_notify_on_deactivate")
def test_other_audio(call, launch_app, actions, evidence, limits):
    actions.play_other_audio()
    alone = actions.hold(2.5)
    launch_app()
    call.wait_connected()
    during = actions.hold(3.0)
    actions.tap_end_call_button()
    time.sleep(1.0)
    after = actions.hold(2.5)
    levels = {name: evidence.rms_dbfs(MUSIC_ROUTE, span)
              for name, span in (("alone", alone), ("during", during), ("after", after))}
    for name, db in levels.items():
        evidence.record(f"other_audio_{name}_dbfs", round(db, 1))
    depth = expect_ducked(levels["alone"], levels["during"], limits.other_audio_floor_dbfs,
                          limits.duck_min_db, "music during the call")
    evidence.record("duck_depth_db", round(depth, 1))
    expect_restored(levels["alone"], levels["after"], limits.duck_min_db / 2, "music after the call")
