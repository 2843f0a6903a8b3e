"""os_trace_relay: the binary activity stream (``StartActivity``) and ``PidList``.

After ``StartActivity`` the relay answers ``u32le n``, an n-byte little-endian length, and the
plist ``{Status: RequestSuccessful}``; then each entry is ``0x02``, ``u32le length`` and a record:
a 129-byte header (pid, procid, process image UUID, wall-clock seconds and microseconds of the
*phone's* clock, level, mach time, thread, sender image UUID, string sizes), then the
NUL-terminated process path, sender image, message, subsystem and category. The layout follows
what pymobiledevice3's parser reads (services/os_trace.py); bytes it calls unknown are zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import plistlib
import struct
import time
import uuid
from collections.abc import Callable

from harness.sim.lockdownd import read_plist
from harness.sim.log_filler import FILLER_CATEGORY, FILLER_SUBSYSTEM
from harness.sim.phone import LogRecord, PortHandler, VirtualPhone
from harness.sim.services.log_stream import relay

LEVEL_BYTES = {"default": 0x00, "info": 0x01, "debug": 0x02, "error": 0x10, "fault": 0x11}
FLAG_DEBUG, FLAG_INFO = 0x20, 0x100
"""os_activity_stream flags (pymobiledevice3 OsActivityStreamFlag, after limneos/oslog
ActivityStreamAPI.h): INFO asks for info-level lines, DEBUG for debug-level ones. DEBUG implies
info too: Console's own flags (PAYLOAD|HISTORICAL|CALLSTACK|DEBUG, "sniffed from Console.app when
enabling both info and debug messages", pymobiledevice3 services/os_trace.py) carry no INFO bit."""
FILLER_TICK_S = 0.01
_HEADER = struct.Struct("<9sIQ16s18sIIIBB6sQQ16sHHHIIII")
assert _HEADER.size == 129


def _image_uuid(path: str) -> bytes:
    return uuid.uuid5(uuid.NAMESPACE_URL, path).bytes


def encode_record(phone: VirtualPhone, record: LogRecord) -> bytes:
    """One os_trace record, stamped with the phone's own wall clock at the record's lab time."""
    proc = record.process
    wall_ns = phone.clock.phone_time_ns(record.t_mono_ns)
    seconds, rest = divmod(wall_ns, 1_000_000_000)
    image = (record.image or proc.path).encode() + b"\x00"
    message = record.message.encode()[:65000] + b"\x00"
    subsystem = record.subsystem.encode() + b"\x00" if record.subsystem and record.category else b""
    category = record.category.encode() + b"\x00" if record.subsystem and record.category else b""
    header = _HEADER.pack(
        b"\x00" * 9,
        proc.pid,
        proc.pid,
        _image_uuid(proc.path),
        b"\x00" * 18,
        seconds,
        0,
        rest // 1000,
        0,
        LEVEL_BYTES[record.level],
        b"\x00" * 6,
        phone.mach_ticks(record.t_mono_ns),
        record.thread_id,
        _image_uuid(record.image or proc.path),
        len(image),
        len(message),
        0,
        0x1000,
        len(subsystem),
        len(category),
        0,
    )
    body = header + proc.path.encode() + b"\x00" + image + message + subsystem + category
    return b"\x02" + struct.pack("<I", len(body)) + body


async def serve_os_trace(
    phone: VirtualPhone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    request = await read_plist(reader)
    if request is None:
        return
    kind = request.get("Request")
    if kind == "PidList":
        payload = {str(p.pid): {"ProcessName": p.name} for p in phone.processes.values()}
        data = plistlib.dumps({"Status": "RequestSuccessful", "Payload": payload})
        writer.write(b"\x01" + struct.pack(">I", len(data)) + data)
        await writer.drain()
        return
    if kind != "StartActivity":
        data = plistlib.dumps({"Status": "RequestFailed", "Error": f"unknown request {kind!r}"})
        writer.write(struct.pack("<I", 4) + struct.pack("<I", len(data)) + data)
        await writer.drain()
        return
    pid = int(request.get("Pid", -1))
    flags = int(request.get("StreamFlags", 0))
    wanted = {"info": bool(flags & (FLAG_INFO | FLAG_DEBUG)), "debug": bool(flags & FLAG_DEBUG)}
    data = plistlib.dumps({"Status": "RequestSuccessful"})
    writer.write(struct.pack("<I", 4) + struct.pack("<I", len(data)) + data)
    await writer.drain()

    def encode(record: LogRecord) -> bytes | None:
        if pid not in (-1, 0) and record.process.pid != pid:
            return None
        if not wanted.get(record.level, True):
            return None
        return encode_record(phone, record)

    filling = asyncio.ensure_future(_fill(phone, writer, encode))
    try:
        await relay(phone, reader, writer, encode)
    finally:
        filling.cancel()
        with contextlib.suppress(BaseException):
            await filling


async def _fill(phone: VirtualPhone, writer: asyncio.StreamWriter,
                encode: Callable[[LogRecord], bytes | None]) -> None:
    """The phone's synthetic filler lines (harness.sim.log_filler) on this stream, at its rate."""
    sent = 0
    start = time.monotonic()
    last_rate = 0.0
    while True:
        await asyncio.sleep(FILLER_TICK_S)
        filler = phone.log_filler
        rate = float(phone.log_rate() if filler.follows_variant else filler.lines_per_s)
        now = time.monotonic()
        if rate <= 0 or rate != last_rate:  # a new rate starts a new count
            start, sent, last_rate = now, 0, rate
            continue
        due = int((now - start) * rate) - sent
        if due <= 0:
            continue
        t_ns = time.monotonic_ns()
        chunk = []
        for i in range(sent, sent + due):
            proc = phone.process(filler.processes[i % len(filler.processes)])
            record = LogRecord(t_ns, proc, filler.message(i), FILLER_SUBSYSTEM, FILLER_CATEGORY,
                               filler.level, thread_id=proc.pid * 1000 + 2)
            data = encode(record)
            if data is not None:
                chunk.append(data)
        sent += due
        if chunk:
            writer.write(b"".join(chunk))
            await writer.drain()


def os_trace_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_os_trace(phone, reader, writer)
