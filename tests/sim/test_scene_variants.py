"""Scene-level variants of the virtual phone: Live Voicemail holding iOS in the call after a decline,
and the phone's network (a wildcard URL never reaches the lab host; lan-only takes loopback away).

The audio world and the scene are the real ones (virtual time: ManualScheduler); the voice app's
network check is the one the app process runs before it connects."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from harness.sim import network
from harness.sim.avfaudio import AudioWorld
from harness.sim.avfaudio.notifications import Name
from harness.sim.carrier import CallEvent
from harness.sim.phone import VirtualPhone
from harness.sim.scene.phone import PhoneScene
from harness.sim.state import peer
from harness.sim.voiceapp.app import VoiceApp
from harness.sim.voiceapp.host import VoiceAppHost
from harness.sim.voiceapp.playbook import CORRECT

APP = "com.example.voiceagent"
CALLER, DUT = "+15550109999", "+15550100001"


def _scene(ios: str, voicemail: str) -> tuple[PhoneScene, list]:
    world = AudioWorld(ios)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat")
    session.set_active(True)
    deliveries: list = []
    session.add_observer(deliveries.append)
    phone = VirtualPhone(ios_version=ios, phone_number=DUT, variants={"live_voicemail": voicemail})
    host = VoiceAppHost({APP}, on_session_call=lambda b, c: None, on_log=lambda b, m: None)  # never launched
    return PhoneScene(phone, world, host, "dut", topology=None), deliveries  # type: ignore[arg-type]


def _ended(deliveries: list) -> list:
    return [d for d in deliveries
            if d.name == Name.interruption and d.user_info.get("AVAudioSessionInterruptionTypeKey") == 0]


@pytest.mark.parametrize(("ios", "voicemail", "held"), [
    ("17.5.1", "off", False), ("17.5.1", "holds", True), ("16.7.10", "holds", False)])
def test_live_voicemail_holds_the_interruption_after_a_decline(ios: str, voicemail: str, held: bool) -> None:
    scene, deliveries = _scene(ios, voicemail)
    scheduler = scene.world.scheduler
    scene.on_call(CallEvent("ringing", 1, "tel", CALLER, DUT))
    scheduler.advance(2.0)
    assert scene.phone.log_activity == {"call"}
    scene.on_call(CallEvent("ended", 1, "tel", CALLER, DUT, reason="declined"))
    scheduler.advance(3.0)
    messages = [r.message for r in scene.phone.log_history]
    if not held:  # iOS 16 has no Live Voicemail: the variant does nothing there
        assert len(_ended(deliveries)) == 1 and not any("Live Voicemail" in m for m in messages)
        return
    assert _ended(deliveries) == []  # iOS still in the call: the app's interruption goes on
    assert any("Live Voicemail" in m for m in messages)
    hold_s = float(scene.phone.profile.live_voicemail["hold_s"])
    scheduler.advance(hold_s)
    assert len(_ended(deliveries)) == 1
    assert "Stopped tracking call: <private>" in [r.message for r in scene.phone.log_history]


# -- the phone's network ------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "loopback_ok", "lan_only"), [
    ("http://0.0.0.0:8443/whip", False, False),
    ("http://[::]:8443/whip", False, False),
    ("http://127.0.0.1:8443/whip", True, False),
    ("http://127.8.9.1:8443/whip", True, False),
    ("http://[::1]:8443/whip", True, False),
    ("http://localhost:8443/whip", True, False),
    ("http://192.0.2.2:8443/whip", True, True),
    ("http://lab-host.example:8443/whip", True, True),
])
def test_which_urls_a_phone_can_reach(url: str, loopback_ok: bool, lan_only: bool) -> None:
    assert (network.refusal(url, network.HOST_LOOPBACK) is None) == loopback_ok
    assert (network.refusal(url, network.LAN_ONLY) is None) == lan_only


def test_the_refusal_says_why() -> None:
    assert "wildcard" in str(network.refusal("http://0.0.0.0:1/whip", network.HOST_LOOPBACK))
    assert "phone's own loopback" in str(network.refusal("http://127.0.0.1:1/whip", network.LAN_ONLY))


@pytest.mark.parametrize(("url", "policy"), [
    ("http://0.0.0.0:9/whip", network.HOST_LOOPBACK),
    ("http://127.0.0.1:9/whip", network.LAN_ONLY),
])
def test_the_voice_app_fails_to_connect_as_a_phone_would(url: str, policy: str, capsys) -> None:
    env = {"HARNESS_WHIP_URL": url, "HARNESS_WHIP_TOKEN": "t", "HARNESS_SIM_PHONE_NETWORK": policy}
    app = VoiceApp(CORRECT, env)
    asyncio.run(app.connect())
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert app.whip is None
    assert {"op": "log", "message": "HARNESS-EVENT whip-failed error=ConnectionRefusedError"} in out
    (truth,) = [o for o in out if o.get("op") == "truth"]
    assert truth["event"] == "whip-failed" and "the phone cannot reach" in truth["error"]


def test_lan_only_binds_the_peer_on_every_interface_and_reports_the_lan_address() -> None:
    lan = network.lan_address()
    if lan is None:
        pytest.fail("this machine has no non-loopback IPv4 address: phone_network=lan-only cannot run here")
    phones = {"a": SimpleNamespace(variants={"phone_network": "lan-only"})}
    assert peer(SimpleNamespace(phones=phones)).bind == "0.0.0.0:0"  # type: ignore[arg-type]
    phones = {"a": SimpleNamespace(variants={"phone_network": "host-loopback"})}
    assert peer(SimpleNamespace(phones=phones)).bind == "127.0.0.1:0"  # type: ignore[arg-type]
    assert network.local_address_for(lan) == lan
