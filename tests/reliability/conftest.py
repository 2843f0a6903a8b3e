"""Shared pieces of the reliability tests: a valid aiortc offer that can never reach a real service."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from harness.peer import ice


async def make_offer() -> str:
    """A real aiortc offer whose only ICE candidate is 127.200.0.1:9 (reliability-probe.md's OFFER)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendrecv")
    with ice.host_addresses(["127.0.0.1"]):
        await pc.setLocalDescription(await pc.createOffer())
    sdp = re.sub(r"127\.0\.0\.1 \d+ typ host", "127.200.0.1 9 typ host", pc.localDescription.sdp)
    await pc.close()
    return sdp.replace("c=IN IP4 127.0.0.1", "c=IN IP4 127.200.0.1")


@pytest.fixture(scope="session")
def offer_sdp() -> str:
    return asyncio.run(make_offer())
