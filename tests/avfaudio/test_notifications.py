"""Payloads per iOS version (reference §1.1-1.3), including versions outside the lab's table."""

from __future__ import annotations

import json

import pytest

from harness.ios import IOS_VERSIONS
from harness.sim.avfaudio.constants import DeactivationSource, InterruptionReason, RouteChangeReason
from harness.sim.avfaudio.notifications import Payloads, reason_valid
from harness.sim.avfaudio.ports import RECEIVER, RouteDescription

TYPE = "AVAudioSessionInterruptionTypeKey"
REASON = "AVAudioSessionInterruptionReasonKey"
SUSPENDED = "AVAudioSessionInterruptionWasSuspendedKey"
OPTION = "AVAudioSessionInterruptionOptionKey"

# reason -> versions of the table that may send it [H27][AP-AWS][AP-RD]
VALID = {
    InterruptionReason.default: {16, 17, 18, 26, 27},
    InterruptionReason.appWasSuspended: set(),  # "not present from iOS 16 onwards"
    InterruptionReason.builtInMicMuted: {16, 17, 18, 26, 27},
    InterruptionReason.sceneWasBackgrounded: set(),  # visionOS only
    InterruptionReason.routeDisconnected: {17, 18, 26, 27},
    InterruptionReason.deviceUnauthenticated: set(),
}


@pytest.mark.parametrize("reason", list(InterruptionReason))
def test_reason_values_valid_per_version(reason: InterruptionReason) -> None:
    assert {v for v in IOS_VERSIONS if reason_valid(reason, (v, 0))} == VALID[reason]


def test_app_was_suspended_only_between_14_5_and_16() -> None:
    assert not reason_valid(InterruptionReason.appWasSuspended, (14, 4))
    assert reason_valid(InterruptionReason.appWasSuspended, (14, 5))
    assert reason_valid(InterruptionReason.appWasSuspended, (15, 7))
    assert not reason_valid(InterruptionReason.appWasSuspended, (16, 0))


@pytest.mark.parametrize(
    ("version", "keys"),
    [
        ((10, 2), {TYPE}),
        ((10, 3), {TYPE, SUSPENDED}),
        ((14, 4), {TYPE, SUSPENDED}),
        ((14, 5), {TYPE, REASON}),
        ((16, 0), {TYPE, REASON}),
        ((27, 0), {TYPE, REASON}),
    ],
)
def test_began_keys_by_version(version: tuple[int, int], keys: set[str]) -> None:
    began = Payloads(version).interruption_began()[0]
    assert set(began.user_info) == keys
    assert began.user_info[TYPE] == 1


def test_was_suspended_value_is_carried() -> None:
    assert Payloads((12, 0)).interruption_began(was_suspended=True)[0].user_info[SUSPENDED] is True


def test_began_refuses_a_reason_the_version_cannot_send() -> None:
    with pytest.raises(ValueError, match="routeDisconnected"):
        Payloads((16, 7)).interruption_began(InterruptionReason.routeDisconnected)
    assert (
        Payloads((17, 0)).interruption_began(InterruptionReason.routeDisconnected)[0].user_info[REASON] == 4
    )


@pytest.mark.parametrize("v", IOS_VERSIONS)
def test_ended_has_type_and_options_only(v: int) -> None:
    for should_resume, bits in ((True, 1), (False, 0)):
        notes = Payloads((v, 0)).interruption_ended(should_resume)
        assert notes[0].user_info == {TYPE: 0, OPTION: bits}
        assert len(notes) == (2 if v >= 27 else 1)


def test_family27_only_on_27() -> None:
    assert not Payloads((26, 4)).family27
    assert Payloads((27, 0)).family27
    with pytest.raises(ValueError, match="iOS 27"):
        Payloads((26, 0)).did_become_inactive(DeactivationSource.app)
    p = Payloads((27, 0))
    assert p.did_become_inactive(DeactivationSource.app).user_info == {
        "AVAudioSessionDeactivationContextKey": {"source": 1}
    }
    assert p.did_become_inactive(DeactivationSource.system, InterruptionReason.builtInMicMuted).user_info == {
        "AVAudioSessionDeactivationContextKey": {"source": 2, "interruptionDetails": {"reason": 2}}
    }
    assert p.did_become_inactive(DeactivationSource.system).user_info["AVAudioSessionDeactivationContextKey"][
        "interruptionDetails"
    ] == {"reason": 0}
    assert [n.name for n in p.reactivated()] == ["AVAudioSessionDidBecomeActiveNotification"]
    assert Payloads((18, 0)).reactivated() == [] and Payloads((18, 0)).app_deactivated() == []
    assert [n.name for n in p.interruption_began()] == [
        "AVAudioSessionInterruptionNotification",
        "AVAudioSessionDidBecomeInactiveNotification",
    ]


def test_route_change_payload_and_thread() -> None:
    note = Payloads.route_change(RouteChangeReason.oldDeviceUnavailable, RouteDescription((), (RECEIVER,)))
    assert note.thread == "secondary"
    assert note.user_info == {
        "AVAudioSessionRouteChangeReasonKey": 2,
        "AVAudioSessionRouteChangePreviousRouteKey": {
            "inputs": [],
            "outputs": [{"portType": "builtInReceiver", "portName": "Receiver", "UID": "Built-In Receiver"}],
        },
    }
    assert json.loads(json.dumps(note.to_dict()))["name"] == "AVAudioSessionRouteChangeNotification"


def test_route_change_reason_raw_values() -> None:
    assert [int(r) for r in RouteChangeReason] == [0, 1, 2, 3, 4, 6, 7, 8]
