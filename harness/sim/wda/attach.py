"""Wiring a virtual phone to its SpringBoard and WDA (the lab calls these once per phone).

    carrier = Carrier()                                   # one per lab
    board = springboard_for(phone, carrier)               # the phone's UI state
    wda = await attach_wda(phone, board, app_host)        # serves WDA; device port 8100 -> it
    ...
    await wda.stop()

``app_host`` is the lab's voice-app host (launch/terminate/state/pid); without one, apps run in
an in-memory table (enough for UI tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from harness.sim.carrier import Carrier
from harness.sim.phone import VirtualPhone, pipe_to
from harness.sim.springboard import SpringBoard
from harness.sim.wda.apphost import AppHost, InMemoryAppHost
from harness.sim.wda.server import WdaServer

WDA_DEVICE_PORT = 8100


class _AppNames(Mapping[str, str]):
    """Installed apps' display names, read live from the phone (apps installed later included)."""

    def __init__(self, apps: dict[str, dict[str, Any]]) -> None:
        self._apps = apps

    def __getitem__(self, bundle: str) -> str:
        info = self._apps[bundle]
        return str(info.get("CFBundleDisplayName") or info.get("CFBundleName") or bundle)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._apps))

    def __len__(self) -> int:
        return len(self._apps)


def springboard_for(
    phone: VirtualPhone,
    carrier: Carrier | None,
    *,
    mutations: frozenset[str] = frozenset(),
    running: Callable[[str], bool] | None = None,
) -> SpringBoard:
    """The SpringBoard of ``phone``: its iOS profile and variants, number and Apple ID, its installed
    apps, on ``carrier``.

    ``mutations`` change profile elements (leave out, rename: :mod:`harness.sim.springboard.screens`),
    to exercise recipe fallbacks.
    """
    board = SpringBoard(
        profile=phone.profile,
        variants=phone.variants,
        phone_number=phone.phone_number,
        apple_id=phone.apple_id,
        device_name=phone.name,
        apps=_AppNames(phone.apps),
        carrier=carrier,
        mutations=mutations,
        running=running,
        log=lambda m: phone.log("SpringBoard", m, subsystem="com.apple.springboard", category="harness-sim"),
    )

    def mirror(kind: str, fields: dict[str, Any]) -> None:
        if kind == "lock":
            phone.locked = bool(fields["locked"])
        phone.truth.emit("springboard", kind, udid=phone.udid, **fields)

    board.subscribe(mirror)
    return board


async def attach_wda(phone: VirtualPhone, springboard: SpringBoard, apps: AppHost | None = None) -> WdaServer:
    """Start ``phone``'s WDA on a loopback port and route device port 8100 (usbmux Connect) to it."""
    host: AppHost = apps if apps is not None else InMemoryAppHost()
    server = WdaServer(
        springboard,
        host,
        udid=phone.udid,
        device_name=phone.name,
        ios_version=phone.ios_version,
        installed=phone.apps,
        battery=lambda: (phone.battery_level / 100, 2 if phone.charging else 1),
        log=lambda m: phone.log(
            "WebDriverAgentRunner-Runner", m, subsystem="com.facebook.wda", category="server"
        ),
        variants=phone.variants,
        seed=int(hashlib.sha1(phone.udid.encode()).hexdigest()[:8], 16),
    )
    await server.start()
    phone.device_ports[WDA_DEVICE_PORT] = pipe_to("127.0.0.1", server.port)
    phone.wda_url = server.url
    return server
