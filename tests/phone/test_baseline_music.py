"""The baseline's other-audio step: Music is touched only when it may be playing.

``/wda/apps/state`` answers XCTest's XCUIApplicationState (XCUIApplication.h: 1 not running,
2 background suspended, 3 background, 4 foreground). A real phone keeps a Music that plays in the
background at 3 and suspends a paused one (2) after a while; the virtual Music stays at 3 once
launched, so the pause path runs on every later baseline there (as on a phone that just paused).
"""

from __future__ import annotations

from harness import baseline
from harness.phone import Phone
from tests.wda.scene import Scene

MUSIC = "com.apple.Music"

def test_the_baseline_leaves_a_music_that_does_not_run_alone(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    undone = baseline.reset(phone)
    assert "other-audio" not in undone
    assert not [p for _, p in a.wda.requests if p.endswith("/wda/apps/launch")]  # Music never launched
    assert phone.app_state(MUSIC) == 1

def test_the_baseline_pauses_a_playing_music(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    phone.play_other_audio()
    assert scene.on_loop(lambda: a.board.music_playing)
    phone.home()
    assert phone.app_state(MUSIC) == 3  # playing in the background
    undone = baseline.reset(phone)
    assert "other-audio" in undone
    assert not scene.on_loop(lambda: a.board.music_playing)
    assert phone.foreground_app() == "com.apple.springboard"
