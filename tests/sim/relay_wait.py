"""Wait for a live log relay to listen before logging what it must relay (it sends only what is
logged after it subscribed; a fixed sleep was too short on a loaded host)."""

from __future__ import annotations

import asyncio

from harness.sim.phone import VirtualPhone


async def until_listening(phone: VirtualPhone, before: int, timeout: float = 10.0) -> None:
    """Until ``phone`` has more live log listeners than ``before``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while phone.log_listener_count <= before:
        assert loop.time() < deadline, f"no log relay listened on {phone.name} within {timeout} s"
        await asyncio.sleep(0.02)
