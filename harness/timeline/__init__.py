"""The harness timeline: every event of a run on one monotonic clock.

Peer, device log, actions and audio findings all write here. Each event is appended as one JSON
line and flushed at once, so the file is readable while it is written and after its writer is
killed (``kill -9`` loses nothing that :meth:`Timeline.emit` returned from).
"""

from harness.timeline.clock import monotonic_ns, wall_anchor
from harness.timeline.event import Event
from harness.timeline.span import Span, ns
from harness.timeline.store import Timeline, read_events

__all__ = ["Event", "Span", "Timeline", "monotonic_ns", "ns", "read_events", "wall_anchor"]
