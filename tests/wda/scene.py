"""A scene for WDA and phone-layer tests: virtual phones with SpringBoard and WDA on one carrier.

The lab's event loop runs in a background thread, as the virtual lab runs in its own process: the
test thread drives the phones only through facebook-wda (blocking HTTP), and reads ground truth
through :meth:`Scene.on_loop`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.sim.carrier import CallEvent, Carrier
from harness.sim.phone import VirtualPhone
from harness.sim.springboard import SpringBoard
from harness.sim.wda.apphost import InMemoryAppHost
from harness.sim.wda.attach import attach_wda, springboard_for
from harness.sim.wda.server import WdaServer

T = TypeVar("T")

VOICE_APP = "com.example.voice"


@dataclass
class ScenePhone:
    phone: VirtualPhone
    board: SpringBoard
    apps: InMemoryAppHost
    wda: WdaServer

    @property
    def url(self) -> str:
        return self.wda.url


class Scene:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="lab-loop", daemon=True)
        self._thread.start()
        self.carrier = Carrier()
        self.call_events: list[CallEvent] = []
        self.carrier.subscribe(self.call_events.append)
        self.phones: list[ScenePhone] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def on_loop(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        fut: Future[T] = Future()

        def call() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(call)
        return fut.result(timeout)

    def add_phone(
        self,
        *,
        ios: str = "17.5.1",
        number: str = "+15550100001",
        apple_id: str = "a@example.com",
        name: str = "Virtual iPhone",
        mutations: frozenset[str] = frozenset(),
        variants: dict[str, str] | None = None,
        profile: Any = None,
    ) -> ScenePhone:
        """A phone on the scene's carrier; ``variants`` picks variant values (harness.sim.variants;
        WDA answers at once unless ``wda_latency`` is given: the latency has tests of its own),
        ``mutations`` change its UI tree (harness.sim.springboard.screens); ``profile`` replaces its iOS
        major's (``harness.sim.profiles.load_file``: a surveyed phone's)."""

        async def build() -> ScenePhone:
            phone = VirtualPhone(
                name=name, ios_version=ios, phone_number=number, apple_id=apple_id, index=len(self.phones),
                variants={"wda_latency": "instant", **(variants or {})}, profile=profile,
            )
            phone.apps[VOICE_APP] = {"CFBundleIdentifier": VOICE_APP, "CFBundleDisplayName": "Voice"}
            phone.bind_loop(asyncio.get_running_loop())
            board = springboard_for(phone, self.carrier, mutations=mutations)
            apps = InMemoryAppHost()
            wda = await attach_wda(phone, board, apps)
            return ScenePhone(phone, board, apps, wda)

        sp = self.run(build())
        self.phones.append(sp)
        return sp

    def close(self) -> None:
        for sp in self.phones:
            self.run(sp.wda.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def scene_fixture() -> Iterator[Scene]:
    """The ``scene`` fixture of tests/wda and tests/phone: fails the test if the virtual WDA hit a bug."""
    s = Scene()
    try:
        yield s
    finally:
        errors = [e for sp in s.phones for e in sp.wda.internal_errors]
        s.close()
    assert not errors, "the virtual WDA hit its own bugs:\n" + "\n".join(errors)
