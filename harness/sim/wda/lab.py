"""The virtual WDA joins a virtual lab: one carrier per lab, one SpringBoard and one WDA per phone.

``VirtualLab`` imports ``harness.sim.wda`` as an extension and calls :func:`install_lab`. Other
parts reach what is installed through ``lab.wda`` (a :class:`WdaLab`):

* ``lab.wda.carrier.subscribe(listener)``: call events (the iOS audio world: ringing, answered, ended);
* ``lab.wda.app_host_factory = lambda phone: host``: who runs the apps of a phone (the voice-app
  extension sets it; the default is an in-memory table). Set it before phones are added;
* ``lab.wda.boards[udid]`` / ``lab.wda.servers[udid]``: a phone's SpringBoard and WDA server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from harness.errors import UsageError
from harness.sim.carrier import FACETIME_AUDIO, TEL, Call, Carrier
from harness.sim.control import json_body
from harness.sim.phone import VirtualPhone
from harness.sim.springboard import SpringBoard
from harness.sim.wda.apphost import AppHost, InMemoryAppHost
from harness.sim.wda.attach import attach_wda, springboard_for
from harness.sim.wda.server import WdaServer


@dataclass
class WdaLab:
    carrier: Carrier = field(default_factory=Carrier)
    app_host_factory: Callable[[VirtualPhone], AppHost] = lambda phone: InMemoryAppHost()
    boards: dict[str, SpringBoard] = field(default_factory=dict)
    servers: dict[str, WdaServer] = field(default_factory=dict)
    mutations: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per phone name or UDID: UI mutations (profile elements left out or renamed), set before the
    phone is added."""
    stopper: asyncio.Future[None] | None = None
    """Stops the WDA servers once the lab has stopped (the lab has no stop hook for extensions)."""

    async def add_phone(self, phone: VirtualPhone) -> WdaServer:
        mutations = self.mutations.get(phone.udid) or self.mutations.get(phone.name) or frozenset()
        board = springboard_for(phone, self.carrier, mutations=mutations)
        server = await attach_wda(phone, board, self.app_host_factory(phone))
        self.boards[phone.udid] = board
        self.servers[phone.udid] = server
        return server

    async def stop(self) -> None:
        for server in list(self.servers.values()):
            with contextlib.suppress(Exception):
                await server.stop()
        self.servers.clear()


@dataclass(eq=False)
class ExternalLine:
    """A phone outside the lab (the control API speaks for it): calls the lab's phones, or is called."""

    phone_number: str
    apple_id: str = ""

    def call_changed(self, call: Call) -> None:
        pass


def _call_json(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "kind": call.kind,
        "state": call.state,
        "reason": call.reason,
        "caller": call.caller.phone_number,
        "callee": call.callee.phone_number if call.callee else None,
        "address": call.address,
        "rang": call.rang,
        "voicemail": call.voicemail,
    }


def _add_control_routes(lab: Any, wda_lab: WdaLab) -> None:
    carrier = wda_lab.carrier

    def find_call(request: web.Request) -> Call:
        call_id = int(request.match_info["call_id"])
        return carrier.calls[call_id]  # KeyError -> 404 naming it

    async def dial(request: web.Request) -> web.Response:
        """A call from outside: ``{"from": "+1555...", "to": NUMBER|APPLE_ID|UDID, "kind": "tel"}``."""
        body = await json_body(request)
        kind = str(body.get("kind", TEL))
        to = str(body.get("to", ""))
        if kind not in (TEL, FACETIME_AUDIO) or not to:
            raise UsageError(
                'POST /carrier/calls needs {"to": NUMBER or UDID, "kind": "tel"|"facetime-audio"}'
            )
        if to in lab.phones:
            to = lab.phones[to].phone_number
        caller = ExternalLine(str(body.get("from", "+15550199999")), str(body.get("apple_id", "")))
        carrier.attach(caller)
        return web.json_response(_call_json(carrier.dial(caller, kind, to)))

    async def list_calls(request: web.Request) -> web.Response:
        return web.json_response([_call_json(c) for c in carrier.calls.values()])

    async def hang_up(request: web.Request) -> web.Response:
        call = find_call(request)
        outside = call.caller if isinstance(call.caller, ExternalLine) else call.callee
        carrier.hang_up(call, outside if outside is not None else call.caller)
        return web.json_response(_call_json(call))

    async def answer(request: web.Request) -> web.Response:
        call = find_call(request)
        carrier.answer(call)
        return web.json_response(_call_json(call))

    async def get_settings(request: web.Request) -> web.Response:
        phone = lab.phone(request.match_info["udid"])
        return web.json_response(wda_lab.boards[phone.udid].call_settings.to_json())

    async def set_settings(request: web.Request) -> web.Response:
        """``{"voicemail": true, "silence_unknown_callers": true, "focus": "dnd", "contacts": [...],
        "focus_allowed": [...], "repeated_calls": true}`` (any subset); answers the settings now."""
        phone = lab.phone(request.match_info["udid"])
        body = await json_body(request)
        try:
            settings = wda_lab.boards[phone.udid].configure_calls(**body)
        except ValueError as exc:
            raise UsageError(f"POST /phones/{phone.udid}/settings: {exc}") from None
        return web.json_response(settings.to_json())

    async def ui(request: web.Request) -> web.Response:
        phone = lab.phone(request.match_info["udid"])
        board = wda_lab.boards[phone.udid]
        return web.json_response(
            {
                "foreground": board.foreground,
                "locked": board.locked,
                "prompt": board.prompt,
                "call": _call_json(board.call) if board.call else None,
                "call_settings": board.call_settings.to_json(),
                "siri": board.siri_text,
                "control_center": board.control_center,
                "layers": [layer.bundle_id for layer in board.layers()],
            }
        )

    async def stop_wda(request: web.Request) -> web.Response:
        """The phone's WDA dies (as when XCTest's runner crashes): its port stops answering.
        ``{"restart_after_s": N}`` brings it back on the same port after N s (a lab's watchdog)."""
        phone = lab.phone(request.match_info["udid"])
        body = await json_body(request)
        server = wda_lab.servers.get(phone.udid)
        if server is not None:
            await server.stop()
            after = body.get("restart_after_s")
            if isinstance(after, (int, float)) and after > 0:
                asyncio.get_running_loop().call_later(after, lambda: asyncio.ensure_future(server.start()))
        return web.json_response({"udid": phone.udid, "wda": "stopped"})

    async def inject_errors(request: web.Request) -> web.Response:
        """``{"route": "/wda/homescreen", "error": "unknown error", "message": "...", "method": "POST",
        "times": 1}``: the phone's WDA answers that error (WDA's own error strings, with its HTTP code)
        on that route for the next ``times`` requests (-1: until ``DELETE``), as real WDA does when
        XCTest fails. Answers the errors now pending."""
        phone = lab.phone(request.match_info["udid"])
        body = await json_body(request)
        server = wda_lab.servers[phone.udid]
        route, error = body.get("route"), body.get("error")
        times = body.get("times", 1)
        if not isinstance(route, str) or not route.startswith("/") or not isinstance(error, str):
            raise UsageError('POST /phones/{udid}/wda/errors needs {"route": "/wda/...", "error": '
                             '"unknown error", "message": "...", "times": 1}')
        if not isinstance(times, int) or times == 0 or times < -1:
            raise UsageError(f"times must be a positive count or -1 (until cleared), got {times!r}")
        try:
            server.inject_error(route, error, str(body.get("message", "")), method=body.get("method"),
                                times=times)
        except ValueError as exc:
            raise UsageError(f"POST /phones/{phone.udid}/wda/errors: {exc}") from None
        return web.json_response([i.to_json() for i in server.injected])

    async def clear_errors(request: web.Request) -> web.Response:
        phone = lab.phone(request.match_info["udid"])
        wda_lab.servers[phone.udid].injected.clear()
        return web.json_response([])

    async def set_mutations(request: web.Request) -> web.Response:
        """``{"mutations": ["siri.overlay", "incall.end:label=End", ...]}``: profile elements left out
        or renamed from now on (a UI the recipes do not know, as after an iOS update)."""
        phone = lab.phone(request.match_info["udid"])
        body = await json_body(request)
        mutations = body.get("mutations")
        if not isinstance(mutations, list) or not all(isinstance(v, str) for v in mutations):
            raise UsageError('POST /phones/{udid}/springboard/mutations needs {"mutations": ["key", ...]}')
        board = wda_lab.boards[phone.udid]
        board.mutations = frozenset(mutations)
        board.refresh()
        return web.json_response({"udid": phone.udid, "mutations": sorted(board.mutations)})

    add = lab.control.add_route
    add("POST", "/phones/{udid}/wda/stop", stop_wda)
    add("POST", "/phones/{udid}/wda/errors", inject_errors)
    add("DELETE", "/phones/{udid}/wda/errors", clear_errors)
    add("POST", "/phones/{udid}/springboard/mutations", set_mutations)
    add("POST", "/carrier/calls", dial)
    add("GET", "/carrier/calls", list_calls)
    add("POST", "/carrier/calls/{call_id}/hangup", hang_up)
    add("POST", "/carrier/calls/{call_id}/answer", answer)
    add("GET", "/phones/{udid}/ui", ui)
    add("GET", "/phones/{udid}/settings", get_settings)
    add("POST", "/phones/{udid}/settings", set_settings)


def install_lab(lab: Any) -> WdaLab:
    """Called by ``VirtualLab.start`` (extension hook): wires every phone the lab adds, and adds the
    control routes ``POST /carrier/calls`` (a call from outside the lab), ``GET /carrier/calls``,
    ``POST /carrier/calls/{id}/hangup|answer``, ``GET /phones/{udid}/ui`` (SpringBoard ground truth) and
    ``GET|POST /phones/{udid}/settings`` (the phone's call settings: voicemail, Silence Unknown Callers,
    Focus, contacts)."""
    wda_lab = WdaLab()
    lab.wda = wda_lab
    lab.on_phone_added(wda_lab.add_phone)
    _add_control_routes(lab, wda_lab)

    async def stop_with_lab() -> None:
        await lab.stopped.wait()
        await wda_lab.stop()

    wda_lab.stopper = asyncio.ensure_future(stop_with_lab())
    return wda_lab
