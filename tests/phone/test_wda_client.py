"""The facebook-wda wrapper: deadlines, transport faults, session adoption, relaunch with a new env."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import wda

from harness.errors import LabFault, UsageError
from harness.lab_faults import WDA_DOWN, WDA_TIMEOUT
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


def test_wda_errors_pass_through_the_watchdog(scene: Scene) -> None:
    a = scene.add_phone()
    conn = WdaConnection(a.url)
    with pytest.raises(wda.WDARequestError, match="unknown command"):
        conn.call("bad", conn.client.http.get, "/nope")


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
