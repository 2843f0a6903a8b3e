"""The control API's verbs for what no phone UI can do, by name, with their parameters checked.

The lab's HTTP control API (owned elsewhere) maps a request such as
``POST /phones/{udid}/audio {"action": "accessory_powered_off", "uid": "airpods"}`` onto
:func:`apply`. Bad input raises :class:`~harness.errors.UsageError` naming the action and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import UsageError
from harness.sim.avfaudio.ports import Accessory, AccessoryKind
from harness.sim.avfaudio.world import AudioWorld


def _accessory(params: dict[str, Any]) -> Accessory:
    try:
        return Accessory(
            uid=str(params["uid"]),
            name=str(params.get("name", params["uid"])),
            kind=AccessoryKind(params.get("kind", "bluetooth")),
            hfp=bool(params.get("hfp", False)),
            a2dp=bool(params.get("a2dp", False)),
        )
    except KeyError:
        raise UsageError("accessory_paired needs 'uid' (and 'kind', 'hfp', 'a2dp')") from None
    except ValueError as exc:
        raise UsageError(f"accessory_paired: {exc}") from None


ACTIONS: dict[str, tuple[tuple[str, ...], Callable[[AudioWorld, dict[str, Any]], Any]]] = {
    "accessory_paired": (("uid",), lambda w, p: w.accessory_paired(_accessory(p))),
    "accessory_connected": (("uid",), lambda w, p: w.accessory_connected(p["uid"])),
    "accessory_disconnected": (("uid",), lambda w, p: w.accessory_disconnected(p["uid"])),
    "accessory_powered_off": (("uid",), lambda w, p: w.accessory_powered_off(p["uid"])),
    "accessory_out_of_range": (("uid",), lambda w, p: w.accessory_out_of_range(p["uid"])),
    "media_services_reset": ((), lambda w, p: w.media_services_reset()),
    "mic_hardware_muted": (("muted",), lambda w, p: w.mic_hardware_muted(bool(p["muted"]))),
    "media_app_played": (
        (),
        lambda w, p: w.media_app_played(
            p.get("name", "com.google.ios.youtube"), foreground=bool(p.get("foreground", True))
        ),
    ),
    "media_app_stopped": ((), lambda w, p: w.media_app_stopped()),
}
"""action -> (required parameters, handler)."""


def apply(world: AudioWorld, action: str, params: dict[str, Any] | None = None) -> Any:
    params = dict(params or {})
    if action not in ACTIONS:
        raise UsageError(f"unknown audio control action {action!r}; use one of {', '.join(sorted(ACTIONS))}")
    required, handler = ACTIONS[action]
    missing = [name for name in required if name not in params]
    if missing:
        raise UsageError(f"audio control action {action!r} needs {', '.join(missing)}")
    return handler(world, params)
