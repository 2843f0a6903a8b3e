"""notification_proxy: ObserveNotification / PostNotification / Shutdown (BE-length plists).

Observed names are relayed as ``{Command: RelayNotification, Name}`` when the phone posts them
(:func:`post`), e.g. ``com.apple.mobile.application_installed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from harness.sim.lockdownd import plist_frame, read_plist
from harness.sim.phone import PortHandler, VirtualPhone

_OBSERVERS: weakref.WeakKeyDictionary[VirtualPhone, set[asyncio.Queue[str]]] = weakref.WeakKeyDictionary()


def post(phone: VirtualPhone, name: str) -> None:
    """The phone posts a Darwin notification; every connection that observes ``name`` relays it."""
    for queue in list(_OBSERVERS.get(phone, ())):
        queue.put_nowait(name)


async def serve_notification_proxy(
    phone: VirtualPhone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    observed: set[str] = set()
    queue: asyncio.Queue[str] = asyncio.Queue()
    queues = _OBSERVERS.setdefault(phone, set())
    queues.add(queue)

    async def relay() -> None:
        while True:
            name = await queue.get()
            if name in observed:
                writer.write(plist_frame({"Command": "RelayNotification", "Name": name}))
                await writer.drain()

    task = asyncio.ensure_future(relay())
    try:
        while True:
            request = await read_plist(reader)
            if request is None:
                return
            command = request.get("Command")
            if command == "ObserveNotification":
                observed.add(str(request.get("Name")))
            elif command == "PostNotification":
                post(phone, str(request.get("Name")))
            elif command == "Shutdown":
                writer.write(plist_frame({"Command": "ProxyDeath"}))
                await writer.drain()
                return
    finally:
        queues.discard(queue)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


def notification_proxy_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_notification_proxy(phone, reader, writer)
