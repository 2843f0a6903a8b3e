"""The survey's view of a phone's raw device log: lines per state, lines per second, and the
``system_log`` pattern a lab could write for an interruption line.

The raw file is what :class:`harness.device.os_trace.DeviceLogStream` writes (every line the
os_trace relay sent, matched or not): ``2026-08-30 14:03:07.123456 audiomxd[123] <default>
com.apple.coremedia: -CMSessionMgr- ...``, the phone's time as the host's local time
(:func:`harness.device.os_trace.raw_line`; pymobiledevice3 builds it with ``fromtimestamp``, so
``timestamp()`` inverts it). A state's window is lab time; the phone's clock model
(:mod:`harness.device.clock_sync`) maps it to the phone's time, so a slice is the lines the phone
stamped inside the window, however late they arrived.

On a real phone the file grows by hundreds to thousands of lines a second (reference
real-iphone.md H6: the survey measures it); the virtual phone writes a few unless its log-volume
knob is on. Whether the audio daemon logs an interruption line at all, and in which words, no
public source shows (real-iphone.md H8): :func:`suggest_pattern` only proposes, from lines the phone
really wrote, and the lab marks it verified after reading them.
"""

from __future__ import annotations

import bisect
import datetime
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SURVEY_PROCESSES = ("audiomxd", "mediaserverd", "SpringBoard", "InCallService", "callservicesd")
"""The processes a state's slice keeps: the audio daemons (audiomxd on iOS 17+, mediaserverd before:
iOS 18.2 decompile, REV Q3.1), SpringBoard, the in-call UI and the call daemon (REV Q1.5)."""
_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}) (\S+?)\[(\d+)\] <([\w-]+)>"
                   r"(?: (\S*?):(\S*))? (.*)$")


@dataclass(frozen=True)
class LogLine:
    phone_ns: int
    """The phone's epoch ns."""
    process: str
    pid: int
    level: str
    subsystem: str
    category: str
    message: str

    def text(self) -> str:
        stamp = datetime.datetime.fromtimestamp(self.phone_ns / 1e9).strftime("%H:%M:%S.%f")[:-3]
        where = f" {self.subsystem}:{self.category}" if self.subsystem or self.category else ""
        return f"{stamp} {self.process}[{self.pid}] <{self.level}>{where} {self.message}"


def parse(lines: Iterable[str]) -> Iterator[LogLine]:
    """The raw file's entries (a message's further lines start with a tab); lines of another shape
    are skipped (a partial last line of a killed stream)."""
    current: list[str] = []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("\t") and current:
            current.append(line[1:])
            continue
        if current:
            entry = _entry(current)
            if entry is not None:
                yield entry
        current = [line]
    if current:
        entry = _entry(current)
        if entry is not None:
            yield entry


@functools.lru_cache(maxsize=4096)
def _second_ns(stamp: str) -> int:
    """``2026-08-30 14:03:07`` (host local time) as epoch ns: a real phone logs thousands of lines a
    second (reference real-iphone.md H6), so a survey's file holds a million lines: one parse per
    second, not per line."""
    when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    return int(when.timestamp()) * 1_000_000_000


def _entry(lines: list[str]) -> LogLine | None:
    m = _LINE.match(lines[0])
    if m is None:
        return None
    stamp, process, pid, level, subsystem, category, message = m.groups()
    phone_ns = _second_ns(stamp[:19]) + int(stamp[20:26]) * 1000
    return LogLine(phone_ns, process, int(pid), level, subsystem or "", category or "",
                   "\n".join([message, *lines[1:]]))


def read(path: str | Path) -> list[LogLine]:
    """The file's entries in the phone's time order (they arrive nearly in order; :func:`window`
    bisects)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return sorted(parse(f), key=_stamp)
    except FileNotFoundError:
        return []


def _stamp(line: LogLine) -> int:
    return line.phone_ns


def window(lines: list[LogLine], start_ns: int, end_ns: int,
           processes: Iterable[str] | None = SURVEY_PROCESSES) -> list[LogLine]:
    """The lines stamped in [start_ns, end_ns] (phone time) of ``processes`` (None: all); ``lines``
    in time order (:func:`read`)."""
    keep = None if processes is None else set(processes)
    lo = bisect.bisect_left(lines, start_ns, key=_stamp)
    hi = bisect.bisect_right(lines, end_ns, lo=lo, key=_stamp)
    return [x for x in lines[lo:hi] if keep is None or x.process in keep]


def rate(lines: list[LogLine], start_ns: int, end_ns: int) -> float:
    """Lines per second of the whole stream (every process) in [start_ns, end_ns]."""
    seconds = (end_ns - start_ns) / 1e9
    if seconds <= 0:
        return 0.0
    lo = bisect.bisect_left(lines, start_ns, key=_stamp)
    return (bisect.bisect_right(lines, end_ns, lo=lo, key=_stamp) - lo) / seconds


INTERRUPTION_WORDS = re.compile(r"nterrupt", re.I)
_TYPE = re.compile(r"\b(began|ended)\b")
_BUNDLE = re.compile(r"\b(?:[A-Za-z0-9-]+\.){2,}[A-Za-z0-9-]+\b")
_SHOULD_RESUME = re.compile(r"(?i:shouldResume)\s*[:=]\s*([01])\b")
TYPE_GROUP = r"(?P<type>began|ended)"
BUNDLE_GROUP = r"(?P<bundle>[\w.-]+)"
RESUME_GROUP = r"(?P<should_resume>[01])"


def interruption_lines(lines: Iterable[LogLine], audio_processes: Iterable[str]) -> list[LogLine]:
    """The audio daemons' lines that speak of an interruption (REV Q3.2: on iOS ``beginInterruption``
    in MediaExperience means the session goes active; such lines are offered, the lab judges)."""
    daemons = set(audio_processes)
    return [x for x in lines if x.process in daemons and INTERRUPTION_WORDS.search(x.message)]


def suggest_pattern(message: str, bundle: str | None = None) -> str | None:
    """A ``system_log.interruption_pattern`` proposed from one real line: its words kept literally,
    the client's bundle id as ``(?P<bundle>...)``, ``began``/``ended`` as ``(?P<type>...)``, a
    ``shouldResume: 0|1`` as ``(?P<should_resume>...)``, hex ids and other numbers generalised. None
    when the line has no ``began``/``ended`` word or no bundle id (``bundle``: that one): the lab
    schema needs both groups (harness.lab.schema.SystemLog), and the verdict reads began/ended."""
    kind = _TYPE.search(message)
    client = next((m for m in _BUNDLE.finditer(message) if bundle is None or m.group(0) == bundle), None)
    if kind is None or client is None:
        return None
    spans = [(kind.start(), kind.end(), TYPE_GROUP), (client.start(), client.end(), BUNDLE_GROUP)]
    resume = _SHOULD_RESUME.search(message)
    if resume is not None:
        spans.append((resume.start(1), resume.end(1), RESUME_GROUP))
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        return None  # the words overlap: no pattern from this line
    out, pos = [], 0
    for start, end, group in spans:
        out += [_generalise(message[pos:start]), group]
        pos = end
    out.append(_generalise(message[pos:]))
    return "".join(out).rstrip()


def _generalise(text: str) -> str:
    """Literal text as a regex, with hex ids and runs of digits generalised."""
    parts: list[str] = []
    pos = 0
    for m in re.finditer(r"0x[0-9a-fA-F]+|\d+", text):
        parts.append(_escape(text[pos:m.start()]))
        parts.append(r"0x[0-9a-fA-F]+" if m.group(0).startswith("0x") else r"\d+")
        pos = m.end()
    parts.append(_escape(text[pos:]))
    return "".join(parts)


def _escape(text: str) -> str:
    """``re.escape`` for a person to read: only the characters that mean something in a regex."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)
