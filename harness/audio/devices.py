"""PortAudio glue: device names to sounddevice indexes, re-scanning, and PortAudio's clock.

Lab files name audio devices (``dut_receiver_monitor``, ``Scarlett 4i4 USB: Audio (hw:1,0)``);
streams need an index. Names are resolved here rather than by sounddevice's own lookup so that a
miss re-scans (a lab sink may have been added since PortAudio initialised) and an error names the
fix: exact name first, then, after a re-scan, a unique substring.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Literal

from harness.errors import LabFault, UsageError

Kind = Literal["input", "output"]

_streams: weakref.WeakSet[Any] = weakref.WeakSet()  # open streams of this process (ours)
_lock = threading.Lock()


def track(owner: Any) -> None:
    """Record an object that holds an open PortAudio stream (until :func:`untrack` or collected)."""
    with _lock:
        _streams.add(owner)


def untrack(owner: Any) -> None:
    with _lock:
        _streams.discard(owner)


def open_streams() -> int:
    with _lock:
        return len(_streams)


def rescan() -> None:
    """Make PortAudio enumerate devices again (e.g. after a lab sink was added).

    PortAudio lists devices only in ``Pa_Initialize`` and sounddevice has no public call for a
    re-scan, so this uses its private ``_terminate``/``_initialize`` (the way sounddevice's own
    docs suggest). ``Pa_Terminate`` closes every stream of the process, so this refuses while a
    stream opened through harness.audio is open.
    """
    import sounddevice as sd

    n = open_streams()
    if n:
        raise LabFault(
            f"cannot re-scan audio devices while {n} stream(s) are open: add lab sinks before opening "
            "captures and players (or open them in a new process)",
            tag="audio-rescan",
        )
    depth = max(1, sd._initialized)
    for _ in range(sd._initialized):
        sd._terminate()
    for _ in range(depth):
        sd._initialize()


def rescan_if_idle() -> bool:
    """Re-scan if sounddevice is in use and no stream of ours is open (e.g. after a lab went away)."""
    if "sounddevice" not in sys.modules or open_streams():
        return False
    rescan()
    return True


def list_devices(kind: Kind | None = None) -> list[dict[str, Any]]:
    import sounddevice as sd

    key = {"input": "max_input_channels", "output": "max_output_channels"}
    return [dict(d) for d in sd.query_devices() if kind is None or d[key[kind]] > 0]


def find_device(name: str | int, kind: Kind) -> int:
    """The sounddevice index of the ``kind`` device called ``name`` (re-scans once on a miss)."""
    if isinstance(name, int):
        return name
    found = _match(name, kind, exact_only=True)
    if found is None and open_streams() == 0:
        rescan()  # PortAudio lists devices as they were when it initialised
    if found is None:
        found = _match(name, kind)
    if found is None:
        have = [d["name"] for d in list_devices(kind)]
        raise UsageError(
            f"no audio {kind} device named {name!r}; {kind} devices here: {have or 'none'}. "
            "Fix the device name in the lab file, or (virtual lab) start the lab's PulseServer and pass "
            "its client_env() to this process"
        )
    return found


def _match(name: str, kind: Kind, exact_only: bool = False) -> int | None:
    devices = list_devices(kind)
    exact = [d["index"] for d in devices if d["name"] == name]
    if exact or exact_only:
        return exact[0] if exact else None
    partial = [d for d in devices if name in d["name"]]
    if len(partial) > 1:
        raise UsageError(
            f"audio {kind} device name {name!r} is ambiguous: it matches "
            f"{[d['name'] for d in partial]}; use the full name"
        )
    return partial[0]["index"] if partial else None


class StreamClock:
    """Maps PortAudio stream time (seconds; CLOCK_REALTIME for ALSA on Linux) onto the lab clock.

    Fed from the audio callback with (``time_info.currentTime``, ``monotonic_ns()`` read in the
    callback). The smallest difference seen is the one with the least scheduling delay, so it is
    kept. If the wall clock is stepped back, every later difference is larger by the step: after
    ``settle`` such updates in a row (a late callback is one, not hundreds) the minimum starts over.
    """

    def __init__(self, step_s: float = 0.05, settle: int = 200) -> None:
        self.offset_ns: int | None = None
        self._step_ns = int(step_s * 1e9)
        self._settle = settle
        self._above: list[int] = []

    def update(self, stream_time_s: float, mono_ns: int) -> None:
        diff = mono_ns - round(stream_time_s * 1e9)
        if self.offset_ns is None or diff <= self.offset_ns:
            self.offset_ns = diff
            self._above.clear()
        elif diff - self.offset_ns > self._step_ns:
            self._above.append(diff)
            if len(self._above) >= self._settle:
                self.offset_ns = min(self._above)
                self._above.clear()
        else:
            self._above.clear()

    def to_ns(self, stream_time_s: float) -> int:
        if self.offset_ns is None:
            raise RuntimeError("StreamClock.to_ns before any update")
        return round(stream_time_s * 1e9) + self.offset_ns
