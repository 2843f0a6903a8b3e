"""The phone's unified log (os_trace_relay) onto the lab timeline, off the audio path.

A real iPhone logs hundreds to thousands of lines a second (more in calls and Siri; reference
real-iphone.md H6). Turning all of them into timeline events on the event loop that also sends the
WHIP peer's downlink would stall it, and a stall looks like the app's gap. So:

* **Filtered at the source, cheaply.** os_trace_relay filters on the phone by pid only
  (pymobiledevice3 services/os_trace.py ``syslog``: ``Pid`` is the only selector in StartActivity),
  so processes, subsystems and categories are filtered here: exact names are one set lookup on
  the executable's basename, globs (``pymobiledevice3 syslog -s/-c`` style) are compiled once.
  :func:`dut_log_filter` is the DUT's filter: the audio daemons, SpringBoard, InCallService, the
  app's executable and whatever the lab adds (lab.yaml ``device_log.processes``); the app
  contract's ``HARNESS-EVENT`` lines are kept from any process.
* **No debug level unless asked.** The relay is asked for default/error/fault and info lines
  (``LogFilter.level``), without pymobiledevice3's default DEBUG and HISTORICAL flags (its
  default is Console's "info and debug" set with the backlog).
* **Its own thread and event loop.** The pump opens its own lockdown session and relay connection
  on a :class:`harness.loop.LoopThread` of its own; the caller's loop only starts and stops it.
* **The raw stream to its own file.** Every line the relay sends (matched or not) is written as
  text to ``raw_path``; only matched lines become timeline events (``device-log`` source: ``log``,
  or ``app-event`` for ``HARNESS-EVENT <name> key=value ...``), at the lab time the phone's
  timestamp maps to (:mod:`harness.device.clock_sync`).

Real phone vs virtual lab: the virtual phone logs a few lines a second unless its log-volume knob
is turned (harness.sim.log_filler: synthetic filler lines, marked as such); bench/device_log_load.py
drives 5,000 lines a second through this pump during a live WHIP call and prints the downlink gaps
and loop stalls. Which processes and levels carry the audio daemon's interruption lines on a real
phone is not settled (real-iphone.md H8): the level and process list stay configurable in lab.yaml.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import posixpath
import re
import shlex
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from harness.contract import APP_EVENT_PREFIX
from harness.device.clock_sync import ClockTracker, phone_ns_from_datetime
from harness.device.errors import DeviceFault, device_errors, translate
from harness.device.lockdown import DEFAULT_TIMEOUTS, Timeouts, connect
from harness.loop import LoopThread
from harness.timeline import Timeline

T = TypeVar("T")
LEVEL_NAMES = {0x00: "default", 0x01: "info", 0x02: "debug", 0x03: "user-action", 0x10: "error",
               0x11: "fault"}
Level = Literal["default", "info", "debug"]

# os_activity_stream flags (pymobiledevice3 OsActivityStreamFlag, after limneos/oslog
# ActivityStreamAPI.h). pymobiledevice3's default adds HISTORICAL (the backlog from before the
# stream) and DEBUG; neither is asked for here unless the level says debug.
FLAG_PAYLOAD, FLAG_CALLSTACK, FLAG_DEBUG, FLAG_INFO = 0x04, 0x10, 0x20, 0x100
LEVEL_FLAGS: dict[str, int] = {
    "default": FLAG_PAYLOAD | FLAG_CALLSTACK,
    "info": FLAG_PAYLOAD | FLAG_CALLSTACK | FLAG_INFO,
    "debug": FLAG_PAYLOAD | FLAG_CALLSTACK | FLAG_INFO | FLAG_DEBUG,
}

DUT_PROCESSES = ("audiomxd", "mediaserverd", "SpringBoard", "InCallService", "callservicesd")
"""The processes the DUT's log keeps besides the app's: the audio daemons (audiomxd hosts the audio
server on iOS 17+/18, mediaserverd before; iOS 18.2 decompile, real-iphone.md H8), SpringBoard, the
in-call UI and the call daemon (``callservicesd``: "Stopped tracking call", twilio/voice-quickstart-ios
#152, real-ios-evidence Q1.5; where a held call would show). Executable basenames [likely; confirm
in the first hour on a real phone]."""
DEVICE_LOG_RAW = "device-log-raw.txt"
"""The raw log file's name in a test's artifacts (every line the relay sent, matched or not)."""
FLUSH_S = 0.1
"""The raw file is flushed at least this often (a crash loses at most this much of it)."""


@dataclass(frozen=True)
class LogFilter:
    """Which entries to keep. Empty tuples keep everything; patterns are shell globs."""

    processes: tuple[str, ...] = ()
    """Executable names (``mediaserverd``, ``VoiceApp``), matched on the basename of the path."""
    subsystems: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    pid: int = -1
    """Filter on the phone too (only when one process is wanted and its pid is known)."""
    level: Level = "info"
    """The lowest level the relay is asked for: ``default`` (default, error, fault), ``info`` (and
    info), ``debug`` (and debug: far more lines; only when asked for)."""
    app_events: bool = True
    """Keep the app contract's ``HARNESS-EVENT`` lines whatever process logs them."""

    def keeps(self, process: str, subsystem: str, category: str, message: str = "") -> bool:
        if self.app_events and message.startswith(APP_EVENT_PREFIX):
            return True
        return (self._process_match(process) and _any(self.subsystems, subsystem)
                and _any(self.categories, category))

    @property
    def stream_flags(self) -> int:
        return LEVEL_FLAGS[self.level]

    @cached_property
    def _exact(self) -> frozenset[str]:
        return frozenset(p for p in self.processes if not _is_glob(p))

    @cached_property
    def _globs(self) -> re.Pattern[str] | None:
        globs = [fnmatch.translate(p) for p in self.processes if _is_glob(p)]
        return re.compile("|".join(globs)) if globs else None

    def _process_match(self, process: str) -> bool:
        if not self.processes or process in self._exact:
            return True
        return self._globs is not None and self._globs.match(process) is not None


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _any(patterns: tuple[str, ...], value: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)


def dut_log_filter(app_process: str | None = None, extra: Iterable[str] = (), *,
                   level: Level = "info") -> LogFilter:
    """The DUT's filter: :data:`DUT_PROCESSES`, the app's executable, and the lab's ``extra``."""
    names = [*DUT_PROCESSES, *([app_process] if app_process else []), *extra]
    return LogFilter(processes=tuple(dict.fromkeys(n for n in names if n)), level=level)


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


def raw_line(entry: Any) -> str:
    """One entry as a text line of the raw log file (phone time, process[pid], level, label, message)."""
    label = entry.label
    where = f" {label.subsystem}:{label.category}" if label else ""
    level = LEVEL_NAMES.get(int(entry.level), str(int(entry.level)))
    message = entry.message.replace("\n", "\n\t")
    return (f"{entry.timestamp:%Y-%m-%d %H:%M:%S.%f} {posixpath.basename(entry.filename)}[{entry.pid}] "
            f"<{level}>{where} {message}\n")


class DeviceLogStream:
    """Streams the phone's log onto ``timeline`` until stopped or the phone goes away.

    The pump runs on its own thread and event loop (``own_thread``; False runs it on the caller's
    loop, which only the benchmark's "before" figure uses) with its own lockdown session. The
    clock tracker must have a model (``await tracker.sync()``) before entries can be placed; the
    stream keeps the tracker running while it runs, so drift is followed. ``lines`` counts every
    entry the relay sent, ``count`` the ones kept. When the stream ends because the phone went
    away, ``error`` holds the DeviceFault and a ``device-log / stream-lost`` event marks the
    moment. ``on_event`` is called on the pump's thread for each kept entry's event.
    """

    def __init__(self, udid: str, timeline: Timeline, clock: ClockTracker, *,
                 log_filter: LogFilter | None = None, source: str = "device-log",
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, raw_path: str | Path | None = None,
                 own_thread: bool = True, on_event: Callable[[Any], None] | None = None) -> None:
        self.udid = udid
        self.timeline = timeline
        self.clock = clock
        self.filter = log_filter or LogFilter()
        self.source = source
        self.timeouts = timeouts
        self.raw_path = Path(raw_path) if raw_path is not None else None
        self.own_thread = own_thread
        self.on_event = on_event
        self.count = 0
        self.lines = 0
        self.error: DeviceFault | None = None
        self._thread: LoopThread | None = None
        self._task: asyncio.Task[None] | None = None
        self._lockdown: Any = None
        self._service: Any = None
        self._raw: IO[str] | None = None
        self._flushed = 0.0

    async def start(self) -> DeviceLogStream:
        """Open the relay (within ``timeouts.stream_open``) and start streaming in the background.

        Returns once the relay has accepted the stream: every entry logged from then on arrives.
        """
        if self.clock.model is None:
            await self.clock.sync()
        if self.own_thread:
            self._thread = LoopThread(name=f"device-log:{self.udid[:8]}")
        try:
            await self._on_pump(self._open())
        except BaseException:
            await self._on_pump(self._close())
            await self._end_thread()
            raise
        self.clock.start()
        self.timeline.emit(self.source, "stream-started", udid=self.udid, filter=_describe(self.filter),
                           raw=str(self.raw_path) if self.raw_path else None, own_thread=self.own_thread)
        return self

    async def _on_pump(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the pump's loop (its own thread's, or this one)."""
        if self._thread is None:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._thread.loop))

    async def _open(self) -> None:
        from pymobiledevice3.services.os_trace import OsTraceService

        self._lockdown = await connect(self.udid, self.timeouts)
        self._service = OsTraceService(lockdown=self._lockdown)
        async with device_errors("open the os_trace relay", self.udid, self.timeouts.stream_open,
                                 service=OsTraceService.SERVICE_NAME):
            await start_activity(self._service, self.filter.pid, self.filter.stream_flags)
        if self.raw_path is not None:
            self.raw_path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(self.raw_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in _close
        self._task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        from pymobiledevice3.services.os_trace import parse_syslog_entry

        try:
            while True:
                self._handle(parse_syslog_entry(await next_record(self._service)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = translate(exc, action="stream the phone's log", udid=self.udid)
            self.timeline.emit(self.source, "stream-lost", udid=self.udid, tag=self.error.tag,
                               error=str(self.error))
        finally:
            if self._raw is not None:
                self._raw.flush()

    def _handle(self, entry: Any) -> None:
        self.lines += 1
        if self._raw is not None:
            self._raw.write(raw_line(entry))
            now = time.monotonic()
            if now - self._flushed >= FLUSH_S:
                self._raw.flush()
                self._flushed = now
        process = posixpath.basename(entry.filename)
        label = entry.label
        if not self.filter.keeps(process, label.subsystem if label else "", label.category if label else "",
                                 entry.message):
            return
        phone_ns = phone_ns_from_datetime(entry.timestamp)
        kind, fields = entry_fields(entry, self.udid)
        fields["phone_time_ns"] = phone_ns
        event = self.timeline.emit(self.source, kind, t_ns=self.clock.to_lab_ns(phone_ns), **fields)
        self.count += 1
        if self.on_event is not None:
            self.on_event(event)

    async def _close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._service is not None:
            with contextlib.suppress(Exception):
                await self._service.close()
            self._service = None
        if self._lockdown is not None:
            with contextlib.suppress(Exception):
                await self._lockdown.close()
            self._lockdown = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    async def _end_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.close)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._thread is None and self._task is None and self._service is None:
            return
        await self._on_pump(self._close())
        await self._end_thread()
        await self.clock.stop()
        self.timeline.emit(self.source, "stream-stopped", udid=self.udid, entries=self.count,
                           lines=self.lines)

    async def __aenter__(self) -> DeviceLogStream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# pymobiledevice3's OsTraceService.syslog() sends StartActivity and reads the relay's answer inside
# an async generator, before its first yield: a caller cannot tell when the relay has accepted the
# stream (and so from when entries are sure to arrive) without waiting for a first entry, which may
# never come. These two functions are that generator split at the answer, over the same service
# connection, request and record parser (parse_syslog_entry) as pymobiledevice3's own.
async def start_activity(service: Any, pid: int = -1, stream_flags: int | None = None) -> None:
    """Send StartActivity and read the relay's answer; ProtocolError if it refuses.

    ``stream_flags`` default: pymobiledevice3's (Console's "info and debug", with the backlog).
    """
    import plistlib
    import struct

    from pymobiledevice3.exceptions import ProtocolError
    from pymobiledevice3.services.os_trace import (
        OS_TRACE_RELAY_MESSAGE_FILTER_ALL,
        OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT,
    )

    flags = int(OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT) if stream_flags is None else int(stream_flags)
    await service.connect()
    conn = service.service
    await conn.send_plist({"Request": "StartActivity", "MessageFilter": OS_TRACE_RELAY_MESSAGE_FILTER_ALL,
                           "Pid": pid, "StreamFlags": flags})
    (length_length,) = struct.unpack("<I", await conn.recvall(4))
    length = int.from_bytes(await conn.recvall(length_length), "little")
    answer = plistlib.loads(await conn.recvall(length))
    if answer.get("Status") != "RequestSuccessful":
        raise ProtocolError(f"the os_trace relay refused the log stream: {answer}")


async def next_record(service: Any) -> bytes:
    """The next record of a started stream, unparsed (``parse_syslog_entry`` reads it)."""
    import struct

    from pymobiledevice3.exceptions import ProtocolError

    conn = service.service
    marker = await conn.recvall(1)
    if marker != b"\x02":
        raise ProtocolError(f"malformed os_trace stream (chunk marker {marker.hex()})")
    (length,) = struct.unpack("<I", await conn.recvall(4))
    return bytes(await conn.recvall(length))


def _describe(f: LogFilter) -> str:
    parts = [f"{k}={','.join(v)}" for k, v in (("process", f.processes), ("subsystem", f.subsystems),
                                               ("category", f.categories)) if v]
    if f.pid != -1:
        parts.append(f"pid={f.pid}")
    parts.append(f"level={f.level}")
    return " ".join(parts)
