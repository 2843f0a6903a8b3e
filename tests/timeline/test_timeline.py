from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from harness.timeline import Event, Timeline, read_events


def test_events_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    with Timeline(path) as tl:
        tl.emit("peer", "ice-state", state="connected")
        tl.mark("call-ended", reason="caller hung up")
    events = list(read_events(path))
    assert [(e.source, e.kind) for e in events] == [
        ("timeline", "clock-anchor"),
        ("peer", "ice-state"),
        ("mark", "call-ended"),
    ]
    assert events[1].fields == {"state": "connected"}
    assert events[1].t_ns <= events[2].t_ns


def test_queries_between_marks_and_first_after() -> None:
    clock = iter(range(1000, 100000, 10))
    tl = Timeline(clock=lambda: next(clock))
    tl.emit("peer", "packet-gap", ms=40)
    start = tl.mark("interruption-start")
    tl.emit("device-log", "interruption-began")
    tl.emit("peer", "packet-gap", ms=300)
    end = tl.mark("interruption-end")
    tl.emit("peer", "packet-gap", ms=20)

    inside = tl.between(start, end, source="peer")
    assert [e.fields["ms"] for e in inside] == [300]
    after_end = tl.first("packet-gap", after=end)
    assert after_end is not None and after_end.fields["ms"] == 20
    assert tl.first("no-such-kind") is None
    last_before = tl.last("packet-gap", before=start)
    assert last_before is not None and last_before.fields["ms"] == 40


def test_numpy_values_are_written_as_plain_json(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "t.jsonl"
    with Timeline(path) as tl:
        tl.emit("audio", "gap", duration_ms=np.float32(12.5), edges=np.array([1, 2]))
    gap = next(e for e in read_events(path) if e.kind == "gap")
    assert gap.fields == {"duration_ms": 12.5, "edges": [1, 2]}


def test_concurrent_writers_keep_every_line_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tl = Timeline(path)

    def writer(n: int) -> None:
        for i in range(500):
            tl.emit("w", "tick", writer=n, i=i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tl.close()
    ticks = [e for e in read_events(path) if e.kind == "tick"]
    assert len(ticks) == 2000
    seen = {(e.fields["writer"], e.fields["i"]) for e in ticks}
    assert seen == {(n, i) for n in range(4) for i in range(500)}


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with Timeline(path) as tl:
        tl.emit("peer", "first-packet")
    with open(path, "a") as f:
        f.write('{"t_ns": 5, "source": "peer", "ki')  # a writer killed mid-line
    assert [e.kind for e in read_events(path)] == ["clock-anchor", "first-packet"]


def test_timeline_survives_kill_9_of_its_writer(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from harness.timeline import Timeline
        tl = Timeline({str(path)!r})
        for i in range(200):
            tl.emit("writer", "tick", i=i)
        Path({str(ready)!r}).write_text("200")
        while True:
            tl.emit("writer", "tick", i=-1)
            time.sleep(0.001)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer never got ready"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    loaded = Timeline.load(path)
    ticks = loaded.events(kind="tick")
    assert [e.fields["i"] for e in ticks[:200]] == list(range(200))
    assert loaded.wall_anchor() is not None


def test_event_json_keeps_fields() -> None:
    e = Event(42, "action", "dial", {"uri": "tel:+15550100"})
    back = Event.from_json(e.to_json())
    assert back == e
    assert back.t_s == 42e-9
