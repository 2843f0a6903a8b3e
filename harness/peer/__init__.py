"""The lab end of every call: a WHIP (RFC 9725) server whose sessions are aiortc peer connections.

``WhipPeer`` (whip.py) serves WHIP and owns the calls; ``Call`` (call.py) is one token across
reconnects; ``CallSession`` (session.py) is one RTCPeerConnection; ``rtp_tap``/``rtp_log`` capture
the uplink below aiortc's jitter buffer and decode it to WAVs on the RTP and arrival axes;
``downlink`` sends the pre-encoded probe, an echo or silence; ``ice`` chooses candidate addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.peer.whip import WhipPeer

__all__ = ["WhipPeer"]


def __getattr__(name: str) -> Any:  # lazy: importing harness.peer must not pull in aiortc
    if name == "WhipPeer":
        from harness.peer.whip import WhipPeer

        return WhipPeer
    raise AttributeError(name)
