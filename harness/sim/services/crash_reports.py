"""com.apple.crashreportmover: moves pending reports into CrashReports and answers ``ping\\0``.

The reports themselves are read over AFC on ``com.apple.crashreportcopymobile``
(:func:`harness.sim.services.afc.crash_copy_service`); the virtual phone writes them there at once
(:meth:`VirtualPhone.add_crash_report`), so there is never anything pending to move.
"""

from __future__ import annotations

import asyncio

from harness.sim.phone import PortHandler, VirtualPhone


async def serve_crash_mover(
    phone: VirtualPhone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"ping\x00")
    await writer.drain()
    await reader.read()  # the client closes when it has its ping


def crash_mover_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_crash_mover(phone, reader, writer)
