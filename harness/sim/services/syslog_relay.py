"""syslog_relay: the plain-text log, one line per entry in the phone's local time, ``\\n\\0`` framed.

Line format: ``Mon DD HH:MM:SS <DeviceName> <process>[<pid>] <Level>: <message>``. No debug lines,
no subsystem/category (as on a real phone). The ``\\0`` separating entries is sent in front of
the next entry rather than after each one (inference): pymobiledevice3's ``watch()`` re-yields old
lines when a read ends exactly on ``\\n\\0``, so the terminator ends each write instead.
"""

from __future__ import annotations

import asyncio

from harness.sim.phone import LogRecord, PortHandler, VirtualPhone
from harness.sim.services.log_stream import relay

LEVEL_NAMES = {"default": "Notice", "info": "Info", "error": "Error", "fault": "Fault"}


def format_line(phone: VirtualPhone, record: LogRecord) -> str:
    local = phone.clock.local_datetime(record.t_mono_ns)
    return (
        f"{local:%b %d %H:%M:%S} {phone.name} {record.process.name}[{record.process.pid}] "
        f"<{LEVEL_NAMES[record.level]}>: {record.message}"
    )


async def serve_syslog_relay(
    phone: VirtualPhone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    first = True

    def encode(record: LogRecord) -> bytes | None:
        nonlocal first
        if record.level == "debug":
            return None
        lead = b"" if first else b"\x00"
        first = False
        return lead + format_line(phone, record).encode() + b"\n"

    await relay(phone, reader, writer, encode)


def syslog_relay_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_syslog_relay(phone, reader, writer)
