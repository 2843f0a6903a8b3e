"""The app's WHIP (RFC 9725) client: one POST of the offer, the answer back, DELETE at the end."""

from __future__ import annotations

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription


class WhipClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.resource: str | None = None

    async def publish(self, pc: RTCPeerConnection) -> None:
        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers before returning
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"}
        async with aiohttp.ClientSession() as http, http.post(
            self.url, data=pc.localDescription.sdp, headers=headers, timeout=aiohttp.ClientTimeout(total=15)
        ) as resp:
            body = await resp.text()
            if resp.status != 201:
                raise ConnectionError(f"WHIP POST {self.url} answered {resp.status}: {body[:200]}")
            location = resp.headers.get("Location")
            self.resource = str(resp.url.join(aiohttp.client.URL(location))) if location else None
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    async def close(self) -> None:
        if not self.resource:
            return
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with aiohttp.ClientSession() as http, http.delete(
                self.resource, headers=headers, timeout=aiohttp.ClientTimeout(total=5)
            ):
                pass
        except (aiohttp.ClientError, TimeoutError):
            pass
