"""Byte pipes between asyncio streams (port forwarding on the harness side, device ports on the sim side)."""

from __future__ import annotations

import asyncio
import contextlib


async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy ``src`` to ``dst`` until EOF or a dropped connection, then half-close ``dst``."""
    try:
        while chunk := await src.read(65536):
            dst.write(chunk)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if dst.can_write_eof():
                dst.write_eof()
