"""Shared plumbing of the live log relays: a per-connection queue fed by ``phone.log``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from harness.sim.phone import LogRecord, VirtualPhone

QUEUE_LIMIT = 50_000


async def relay(
    phone: VirtualPhone,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    encode: Callable[[LogRecord], bytes | None],
) -> None:
    """Send every new record (``encode`` -> bytes, or None to skip) until the client goes away."""
    queue: asyncio.Queue[LogRecord] = asyncio.Queue(QUEUE_LIMIT)

    def listener(record: LogRecord) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a stalled client loses records, as on a phone
            queue.put_nowait(record)

    remove = phone.add_log_listener(listener)
    closed = asyncio.ensure_future(reader.read())  # the client sends nothing more; EOF means gone

    async def pump() -> None:
        while True:
            records = [await queue.get()]
            while not queue.empty() and len(records) < 512:  # one write per burst, not per record
                records.append(queue.get_nowait())
            data = b"".join(filter(None, map(encode, records)))
            if data:
                writer.write(data)
                await writer.drain()

    pumping = asyncio.ensure_future(pump())
    try:
        await asyncio.wait({closed, pumping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        remove()
        for task in (closed, pumping):
            task.cancel()
        with contextlib.suppress(BaseException):
            await pumping
