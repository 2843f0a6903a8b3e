"""The facebook-wda wrapper: deadlines, transport faults, session adoption, relaunch with a new env."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import wda

from harness.errors import LabFault, UsageError
from harness.lab_faults import WDA_DOWN, WDA_ERROR, WDA_TIMEOUT
from harness.phone import Phone, WdaConnection
from tests.phone.test_calls import ENV
from tests.wda.scene import VOICE_APP, Scene


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections (kernel backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()  # resets the pending connections: the stuck watchdog thread ends


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_hung_wda_is_a_lab_fault_after_the_deadline(silent_port: int) -> None:
    conn = WdaConnection(f"http://127.0.0.1:{silent_port}", name="dut", timeout=1.0)
    with pytest.raises(LabFault) as info:
        conn.call("status", conn.client.status)
    assert info.value.tag == WDA_TIMEOUT and "dut" in str(info.value) and "status" in str(info.value)


def test_an_unreachable_wda_is_a_lab_fault() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    phone = Phone(url, name="dut", timeout=5.0)
    with pytest.raises(LabFault) as info:
        phone.home()
    assert info.value.tag == WDA_DOWN and url in str(info.value)
    with pytest.raises(LabFault, match="not ready"):
        phone.wda.wait_ready(timeout=1.0)


def test_wda_errors_are_lab_faults_unless_the_caller_opts_in(scene: Scene) -> None:
    a = scene.add_phone()
    conn = WdaConnection(a.url, name="dut")
    with pytest.raises(LabFault) as info:
        conn.call("bad", conn.client.http.get, "/nope")
    assert info.value.tag == WDA_ERROR and "unknown command" in str(info.value) and "dut" in str(info.value)
    with pytest.raises(wda.WDARequestError, match="unknown command"):  # a probe handles it itself
        conn.call("bad", conn.client.http.get, "/nope", passthrough=(wda.WDARequestError,))


# (route, error, message, the tag it must end as); the unlock envelope is a real one, quoted from
# electricbubble/gwda gwda.go (getErrMsg comment); the keyboard one from facebook-wda's exceptions.py.
UNLOCK = ('Error Domain=com.facebook.WebDriverAgent Code=1 "Timed out while waiting until the screen gets '
          'unlocked" UserInfo={NSLocalizedDescription=Timed out while waiting until the screen gets '
          'unlocked}')
KEYBOARD = ('Error Domain=com.facebook.WebDriverAgent Code=1 "The on-screen keyboard must be present to send '
            'keys" UserInfo={NSLocalizedDescription=The on-screen keyboard must be present to send keys}')
WDA_ERRORS = [
    ("/wda/homescreen", "unknown error", "Timeout waiting for the Home screen", WDA_ERROR, "home"),
    ("/wda/unlock", "unknown error", UNLOCK, "passcode-locked", "unlock"),
    ("/wda/tap", "invalid element state", KEYBOARD, "wda-element-state", "tap"),
    ("/element/:uuid/rect", "no such element", "gone", "wda-no-element", "tap"),
]


@pytest.mark.parametrize(("route", "error", "message", "tag", "action"), WDA_ERRORS,
                         ids=[t for *_, t, _ in WDA_ERRORS])
def test_wdas_own_errors_become_lab_faults_with_their_tags(scene: Scene, tmp_path, route, error, message,
                                                           tag, action) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, name="dut", artifacts=tmp_path)
    phone.launch_app("com.apple.Preferences", {})
    a.wda.inject_error(route, error, message)
    with pytest.raises(LabFault) as info:
        if action == "tap":
            phone.reset_media_services()
        else:
            getattr(phone, action)()
    assert info.value.tag == tag, str(info.value)
    assert error in str(info.value) and "fix:" in str(info.value)
    assert not a.wda.injected  # used once


def test_a_tap_posts_wda_tap_once_without_the_removed_fallback(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    a.wda.inject_error("/wda/tap", "invalid element state", KEYBOARD)
    with pytest.raises(LabFault):
        phone.reset_media_services()
    taps = [p for m, p in a.wda.requests if p.endswith("/wda/tap") or "/wda/tap/" in p]
    assert len(taps) == 1 and taps[0].endswith("/wda/tap"), taps  # facebook-wda's tap() retries /wda/tap/0
    phone.reset_media_services()  # and a tap that works goes through
    assert all(not p.endswith("/wda/tap/0") for _, p in a.wda.requests)


def test_an_existing_session_is_adopted_not_replaced(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    theirs = wda.Client(a.url).session().session_id  # e.g. the session the runner's launcher made
    conn = WdaConnection(a.url)
    before = len([r for r in a.wda.requests if r == ("POST", "/session")])
    assert conn.adopt_session() == (theirs, False)
    Phone(a.url, artifacts=tmp_path).home()
    assert len([r for r in a.wda.requests if r == ("POST", "/session")]) == before
    assert a.wda.session is not None and a.wda.session.id == theirs


def test_a_session_is_created_only_when_wda_holds_none(scene: Scene) -> None:
    a = scene.add_phone()
    conn = WdaConnection(a.url)
    sid, created = conn.adopt_session()
    assert created and a.wda.session is not None and a.wda.session.id == sid
    assert conn.adopt_session() == (sid, False)
    assert [r for r in a.wda.requests if r == ("POST", "/session")] == [("POST", "/session")]


def test_phone_adopts_a_replaced_session(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    first = phone.wda.session_id()
    assert phone.wda.session_id() == first  # cached, no new session
    other = phone.wda.new_session()  # e.g. another tool created a session
    assert other != first
    wda.Client(a.url).session()  # and once more, behind the phone's back
    assert phone.app_state(VOICE_APP) == 1  # invalid session id -> adopted from /status
    assert phone.wda.client.session_id == wda.Client(a.url).status()["sessionId"]


def test_launch_app_relaunches_a_running_app_with_the_new_environment(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, {"HARNESS_WHIP_TOKEN": "old"})
    phone.launch_app(VOICE_APP, ENV)
    assert [launch.environment for launch in a.apps.launches] == [{"HARNESS_WHIP_TOKEN": "old"}, ENV]
    assert phone.foreground_app() == VOICE_APP
    phone.launch_app(VOICE_APP, {"IGNORED": "1"}, relaunch=False)  # WDA only activates it
    assert len(a.apps.launches) == 2


def test_launch_of_a_missing_app_is_a_lab_fault(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    with pytest.raises(LabFault, match=r"com\.example\.missing") as info:
        Phone(a.url, artifacts=tmp_path).launch_app("com.example.missing", {})
    assert info.value.tag == "app-launch"


def test_bad_input_is_a_usage_error(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    with pytest.raises(UsageError, match="not a call URL"):
        phone.dial("+15550100002")
    with pytest.raises(UsageError, match="unknown button"):
        phone.press("siri")
    with pytest.raises(UsageError, match="bundle id"):
        phone.launch_app("", {})


def test_buttons(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.press("home")
    assert phone.foreground_app() == "com.apple.springboard"
    phone.press("volumeUp")
    phone.lock()
    assert phone.locked()
    phone.unlock()
    assert not phone.locked()
    phone.press("power")
    assert phone.locked()
