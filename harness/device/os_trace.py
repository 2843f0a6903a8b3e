"""The phone's unified log (os_trace_relay) onto the lab timeline.

os_trace_relay filters on the phone by pid only; process, subsystem and category are filtered
here (glob patterns, as ``pymobiledevice3 syslog -s/-c`` does). Each kept entry becomes a
``device-log`` event at the lab time its phone timestamp maps to (:mod:`harness.device.clock_sync`).
Lines in the app contract's format ``HARNESS-EVENT <name> key=value ...`` become ``app-event``
events with the name and the key/value pairs parsed; everything else is a ``log`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.contract import APP_EVENT_PREFIX
from harness.device.clock_sync import ClockTracker, phone_ns_from_datetime
from harness.device.errors import DeviceFault, device_errors, translate
from harness.timeline import Timeline

LEVEL_NAMES = {0x00: "default", 0x01: "info", 0x02: "debug", 0x03: "user-action", 0x10: "error",
               0x11: "fault"}


@dataclass(frozen=True)
class LogFilter:
    """Which entries to keep. Empty tuples keep everything; patterns are shell globs."""

    processes: tuple[str, ...] = ()
    """Executable names (``mediaserverd``, ``VoiceApp``), matched on the basename of the path."""
    subsystems: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    pid: int = -1
    """Filter on the phone too (only when one process is wanted and its pid is known)."""

    def keeps(self, process: str, subsystem: str, category: str) -> bool:
        return (_any(self.processes, process) and _any(self.subsystems, subsystem)
                and _any(self.categories, category))


def _any(patterns: tuple[str, ...], value: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)


def parse_app_event(message: str) -> tuple[str, dict[str, str]] | None:
    """``HARNESS-EVENT interruption-began reason=call t=1.5`` -> ("interruption-began", {...})."""
    if not message.startswith(APP_EVENT_PREFIX):
        return None
    try:
        words = shlex.split(message[len(APP_EVENT_PREFIX):])
    except ValueError:
        words = message[len(APP_EVENT_PREFIX):].split()
    if not words:
        return None
    name, rest = words[0], words[1:]
    args: dict[str, str] = {}
    for word in rest:
        key, sep, value = word.partition("=")
        if sep:
            args[key] = value
    return name, args


def entry_fields(entry: Any, udid: str) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of a timeline event for a pymobiledevice3 ``SyslogEntry``."""
    label = entry.label
    fields: dict[str, Any] = {
        "udid": udid,
        "process": posixpath.basename(entry.filename),
        "pid": entry.pid,
        "subsystem": label.subsystem if label else "",
        "category": label.category if label else "",
        "level": LEVEL_NAMES.get(int(entry.level), str(int(entry.level))),
        "message": entry.message,
    }
    parsed = parse_app_event(entry.message)
    if parsed is not None:
        fields["event"], fields["args"] = parsed
        return "app-event", fields
    return "log", fields


class DeviceLogStream:
    """Streams the phone's log onto ``timeline`` until stopped or the phone goes away.

    The clock tracker must have a model (``await tracker.sync()``) before entries can be placed;
    the stream keeps the tracker running while it runs, so drift is followed. When the stream
    ends because the phone went away, ``error`` holds the DeviceFault and a
    ``device-log / stream-lost`` event marks the moment.
    """

    def __init__(self, lockdown: Any, timeline: Timeline, clock: ClockTracker, *, udid: str,
                 log_filter: LogFilter | None = None, source: str = "device-log",
                 open_timeout: float = 10.0, on_event: Callable[[Any], None] | None = None) -> None:
        self.lockdown = lockdown
        self.timeline = timeline
        self.clock = clock
        self.udid = udid
        self.filter = log_filter or LogFilter()
        self.source = source
        self.open_timeout = open_timeout
        self.on_event = on_event
        self.count = 0
        self.error: DeviceFault | None = None
        self._task: asyncio.Task[None] | None = None
        self._service: Any = None

    async def start(self) -> DeviceLogStream:
        """Open the relay (within ``open_timeout``) and start streaming in the background.

        Returns once the relay has accepted the stream: every entry logged from then on arrives.
        """
        from pymobiledevice3.services.os_trace import OsTraceService

        if self.clock.model is None:
            await self.clock.sync()
        self._service = OsTraceService(lockdown=self.lockdown)
        async with device_errors("open the os_trace relay", self.udid, self.open_timeout,
                                 service=OsTraceService.SERVICE_NAME):
            await start_activity(self._service, self.filter.pid)
        self._task = asyncio.ensure_future(self._pump())
        self.clock.start()
        self.timeline.emit(self.source, "stream-started", udid=self.udid, filter=_describe(self.filter))
        return self

    async def _pump(self) -> None:
        try:
            while True:
                self._emit(await next_entry(self._service))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = translate(exc, action="stream the phone's log", udid=self.udid)
            self.timeline.emit(self.source, "stream-lost", udid=self.udid, tag=self.error.tag,
                               error=str(self.error))

    def _emit(self, entry: Any) -> None:
        process = posixpath.basename(entry.filename)
        label = entry.label
        if not self.filter.keeps(process, label.subsystem if label else "", label.category if label else ""):
            return
        phone_ns = phone_ns_from_datetime(entry.timestamp)
        kind, fields = entry_fields(entry, self.udid)
        fields["phone_time_ns"] = phone_ns
        event = self.timeline.emit(self.source, kind, t_ns=self.clock.to_lab_ns(phone_ns), **fields)
        self.count += 1
        if self.on_event is not None:
            self.on_event(event)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.clock.stop()
        if self._service is not None:
            with contextlib.suppress(Exception):
                await self._service.close()
            self._service = None
        self.timeline.emit(self.source, "stream-stopped", udid=self.udid, entries=self.count)

    async def __aenter__(self) -> DeviceLogStream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# pymobiledevice3's OsTraceService.syslog() sends StartActivity and reads the relay's answer inside
# an async generator, before its first yield: a caller cannot tell when the relay has accepted the
# stream (and so from when entries are sure to arrive) without waiting for a first entry, which may
# never come. These two functions are that generator split at the answer, over the same service
# connection, request and record parser (parse_syslog_entry) as pymobiledevice3's own.
async def start_activity(service: Any, pid: int = -1) -> None:
    """Send StartActivity and read the relay's answer; ProtocolError if it refuses."""
    import plistlib
    import struct

    from pymobiledevice3.exceptions import ProtocolError
    from pymobiledevice3.services.os_trace import (
        OS_TRACE_RELAY_MESSAGE_FILTER_ALL,
        OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT,
    )

    await service.connect()
    conn = service.service
    await conn.send_plist({"Request": "StartActivity", "MessageFilter": OS_TRACE_RELAY_MESSAGE_FILTER_ALL,
                           "Pid": pid, "StreamFlags": int(OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT)})
    (length_length,) = struct.unpack("<I", await conn.recvall(4))
    length = int.from_bytes(await conn.recvall(length_length), "little")
    answer = plistlib.loads(await conn.recvall(length))
    if answer.get("Status") != "RequestSuccessful":
        raise ProtocolError(f"the os_trace relay refused the log stream: {answer}")


async def next_entry(service: Any) -> Any:
    """The next ``SyslogEntry`` of a started stream."""
    import struct

    from pymobiledevice3.exceptions import ProtocolError
    from pymobiledevice3.services.os_trace import parse_syslog_entry

    conn = service.service
    marker = await conn.recvall(1)
    if marker != b"\x02":
        raise ProtocolError(f"malformed os_trace stream (chunk marker {marker.hex()})")
    (length,) = struct.unpack("<I", await conn.recvall(4))
    return parse_syslog_entry(await conn.recvall(length))


def _describe(f: LogFilter) -> str:
    parts = [f"{k}={','.join(v)}" for k, v in (("process", f.processes), ("subsystem", f.subsystems),
                                               ("category", f.categories)) if v]
    if f.pid != -1:
        parts.append(f"pid={f.pid}")
    return " ".join(parts) or "all"
