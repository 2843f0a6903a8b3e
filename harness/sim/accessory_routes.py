"""Control-API routes for the lab's stand-ins for hardware: accessories and the capture chain.

``install_accessory_routes(lab)`` registers, on ``lab.control``:

- ``GET  /phones/{udid}/accessories``: every accessory of the phone and its state;
- ``POST /phones/{udid}/accessories``: pair one (JSON ``{uid, name, kind, hfp, a2dp}``);
- ``POST /phones/{udid}/accessories/{name}/{action}``, action in power-on, power-off, connect,
  disconnect (``name`` is the accessory's uid or name);
- ``POST /phones/{udid}/capture/dropout`` (JSON ``{"ms": 200}``) and ``/capture/silent``
  (``{"silent": true}``): faults of the phone's capture chain (``harness.sim.acoustics``).

Each handler reaches the phone's iOS audio world at request time through
``lab.scene.phones[udid].world``, so routes can be installed before any phone exists. Power-on
reconnects an accessory that was powered off or out of range (a headset reconnects to its last
host); on one that is on, it changes nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from harness.errors import UsageError
from harness.sim.avfaudio.ports import Accessory, AccessoryKind, AccessoryState
from harness.sim.control import json_body

ACTIONS = ("power-on", "power-off", "connect", "disconnect")


def install_accessory_routes(lab: Any) -> None:
    lab.control.add_route("GET", "/phones/{udid}/accessories", lambda r: _list(lab, r))
    lab.control.add_route("POST", "/phones/{udid}/accessories", lambda r: _pair(lab, r))
    lab.control.add_route("POST", "/phones/{udid}/accessories/{name}/{action}", lambda r: _act(lab, r))
    lab.control.add_route("POST", "/phones/{udid}/capture/dropout", lambda r: _dropout(lab, r))
    lab.control.add_route("POST", "/phones/{udid}/capture/silent", lambda r: _silent(lab, r))


def _phone_scene(lab: Any, key: str) -> Any:
    phone = lab.phone(key)  # KeyError -> 404
    scene = getattr(lab, "scene", None)
    if scene is None:
        raise UsageError("the virtual lab has no scene (it runs without WDA): no audio world to act on")
    try:
        return scene.phones[phone.udid]
    except KeyError:
        raise KeyError(f"phone {key!r} has no audio world yet") from None


def _entry(world: Any, name: str) -> Any:
    for e in world.accessories.all():
        if name in (e.accessory.uid, e.accessory.name):
            return e
    known = ", ".join(f"{e.accessory.uid} ({e.accessory.name})" for e in world.accessories.all()) or "none"
    raise KeyError(f"accessory {name!r}; this phone has: {known}")


def _describe(e: Any) -> dict[str, Any]:
    a = e.accessory
    return {"uid": a.uid, "name": a.name, "kind": str(a.kind), "state": str(e.state), "hfp": a.hfp,
            "a2dp": a.a2dp}


async def _list(lab: Any, request: web.Request) -> web.Response:
    world = _phone_scene(lab, request.match_info["udid"]).world
    return web.json_response([_describe(e) for e in world.accessories.all()])


async def _pair(lab: Any, request: web.Request) -> web.Response:
    world = _phone_scene(lab, request.match_info["udid"]).world
    body = await json_body(request)
    kinds = [k.value for k in AccessoryKind]
    if body.get("kind", "bluetooth") not in kinds:
        raise UsageError(f"accessory kind {body.get('kind')!r} is not one of {kinds}")
    try:
        accessory = Accessory(str(body.get("uid", "")), str(body.get("name") or body.get("uid", "")),
                              AccessoryKind(body.get("kind", "bluetooth")), hfp=bool(body.get("hfp", False)),
                              a2dp=bool(body.get("a2dp", False)))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    world.accessory_paired(accessory)
    return web.json_response(_describe(_entry(world, accessory.uid)))


async def _act(lab: Any, request: web.Request) -> web.Response:
    world = _phone_scene(lab, request.match_info["udid"]).world
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise UsageError(f"unknown accessory action {action!r}; actions: {', '.join(ACTIONS)}")
    uid = _entry(world, request.match_info["name"]).accessory.uid
    state = world.accessories.get(uid).state
    if action == "connect":
        world.accessory_connected(uid)
    elif action == "disconnect":
        world.accessory_disconnected(uid)
    elif action == "power-off":
        if state is not AccessoryState.powered_off:
            world.accessory_powered_off(uid)
    elif state in (AccessoryState.powered_off, AccessoryState.out_of_range):
        world.accessory_connected(uid)
    return web.json_response(_describe(world.accessories.get(uid)))


async def _dropout(lab: Any, request: web.Request) -> web.Response:
    scene = _phone_scene(lab, request.match_info["udid"])
    body = await json_body(request)
    ms = body.get("ms")
    if not isinstance(ms, (int, float)) or not 0 < ms <= 60_000:
        raise UsageError("capture dropout needs {\"ms\": N} with 0 < N <= 60000")
    start, end = await scene.topology.capture_dropout(scene.sink_id, ms / 1000)
    return web.json_response({"start_ns": start, "end_ns": end})


async def _silent(lab: Any, request: web.Request) -> web.Response:
    scene = _phone_scene(lab, request.match_info["udid"])
    body = await json_body(request)
    silent = body.get("silent", True)
    if not isinstance(silent, bool):
        raise UsageError("capture silent needs {\"silent\": true|false}")
    t_ns = scene.topology.set_capture_silent(scene.sink_id, silent)
    return web.json_response({"silent": silent, "t_ns": t_ns})
