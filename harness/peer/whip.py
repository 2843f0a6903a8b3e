"""The WHIP endpoint (RFC 9725) on aiohttp, and :class:`WhipPeer`, the lab end of every call.

Library use (a pytest fixture, the walking skeleton)::

    async with WhipPeer(bind="127.0.0.1:0", tokens=["t1"], record_dir=tmp, timeline=tl) as peer:
        peer.url                    # http://127.0.0.1:PORT/whip
        peer.add_token("t2")        # more calls at run time
        call = await peer.wait_call("t1")      # or peer.calls["t1"] once it posted
        call.sessions[-1].log_path  # the uplink packet log (flushed as it comes)
    call.wavs                       # {"rtp": .../uplink-rtp.wav, "arrival": .../uplink-arrival.wav}

Routes: ``POST /whip`` (``application/sdp``) -> 201 + ``Location`` + ``ETag`` + answer;
``DELETE /whip/session/{id}`` -> 200; ``PATCH`` -> 501 (aiortc 1.16 has neither trickle ICE nor
ICE restart; the attempt is a ``lab-limitation`` timeline event); ``OPTIONS`` -> 204 with CORS and
``Accept-Post``. Every route wants ``Authorization: Bearer <token>`` (401 otherwise, compared in
constant time). Bodies above ``max_body`` are refused with 413 before they are read.
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from harness.errors import UsageError
from harness.peer import ice
from harness.peer.call import Call
from harness.peer.downlink import MODES
from harness.peer.rtp_tap import check_private_api
from harness.peer.session import CallSession, OfferError
from harness.timeline import Timeline

MAX_BODY = 64 * 1024  # an audio offer is ~2-6 KiB; anything near this is not an offer
PATCH_REASON = ("this lab peer (aiortc 1.16) supports neither trickle ICE nor ICE restart: "
                "open a new WHIP session with the same token instead")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Post",
    "Access-Control-Max-Age": "600",
}


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    return host.strip("[]"), int(port)


class WhipPeer:
    """A WHIP server whose sessions are aiortc peer connections with a tapped uplink."""

    def __init__(self, bind: str = "127.0.0.1:0", tokens: Iterable[str] = (),
                 record_dir: str | Path = "peer-rec",
                 timeline: Timeline | None = None, downlink: str = "probe", ice_hosts: Iterable[str] = (),
                 ice_servers: Iterable[str] = (), tls_cert: str | Path | None = None,
                 tls_key: str | Path | None = None, max_body: int = MAX_BODY, probe_seed: int | None = None,
                 decode_on_exit: bool = True, gap_ms: float = 60.0,
                 consent_timeout_s: float | None = None) -> None:
        """``consent_timeout_s``: how long a connection whose phone stopped answering lives
        (:func:`harness.peer.ice.set_consent_timeout`; default RFC 7675's 30 s)."""
        if downlink not in MODES:
            raise UsageError(f"--downlink {downlink!r}: choose one of {', '.join(MODES)}")
        self.host, self.port = parse_bind(bind)
        self.tokens: list[str] = []
        for t in tokens:
            self.add_token(t)
        self.record_dir = Path(record_dir)
        self.record_dir.mkdir(parents=True, exist_ok=True)
        if timeline is None:
            timeline = Timeline(self.record_dir / "peer-timeline.jsonl")
        self.timeline = timeline
        self.downlink = downlink
        self.ice_hosts = ice.default_hosts(self.host, list(ice_hosts))
        if consent_timeout_s is not None:
            ice.set_consent_timeout(consent_timeout_s)
        self.ice_servers = list(ice_servers)
        self.max_body = max_body
        self.probe_seed = probe_seed
        self.decode_on_exit = decode_on_exit
        self.gap_ms = gap_ms
        self.ssl = self._ssl(tls_cert, tls_key)
        self.calls: dict[str, Call] = {}
        self.sessions: dict[str, CallSession] = {}
        self._runner: web.AppRunner | None = None
        self._call_event = asyncio.Event()

    @staticmethod
    def _ssl(cert: str | Path | None, key: str | Path | None) -> ssl.SSLContext | None:
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            raise UsageError("--tls-cert and --tls-key go together: give both or neither")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--tls-cert {cert} / --tls-key {key}: cannot load ({exc})") from exc
        return ctx

    def add_token(self, token: str) -> None:
        if not token or any(c.isspace() for c in token):
            raise UsageError("a WHIP token must be a non-empty string without spaces")
        if token not in self.tokens:
            self.tokens.append(token)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/whip"

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        check_private_api()
        ice.install()
        app = web.Application(client_max_size=self.max_body, middlewares=[self._cors])
        app.router.add_route("POST", "/whip", self._post)
        app.router.add_route("OPTIONS", "/whip", self._options)
        app.router.add_route("DELETE", "/whip/session/{sid}", self._delete)
        app.router.add_route("PATCH", "/whip/session/{sid}", self._patch)
        app.router.add_route("OPTIONS", "/whip/session/{sid}", self._options)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise UsageError(f"--bind {self.host}:{self.port}: cannot listen ({exc.strerror})") from exc
        sockets = site._server.sockets if site._server else []  # aiohttp keeps the bound socket here
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.timeline.emit("peer", "listening", url=self.url, downlink=self.downlink,
                           ice_hosts=list(self.ice_hosts or []), ice_servers=self.ice_servers)

    async def stop(self) -> None:
        for session in list(self.sessions.values()):
            await session.close("peer stopped")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.decode_on_exit:
            for call in self.calls.values():
                await asyncio.get_running_loop().run_in_executor(None, call.decode)
        self.timeline.emit("peer", "stopped", calls=len(self.calls))

    async def __aenter__(self) -> WhipPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_call(self, token: str, timeout: float = 30.0) -> Call:
        """The call for ``token`` once its first session was answered."""
        async def wait() -> Call:
            while token not in self.calls:
                self._call_event.clear()
                await self._call_event.wait()
            return self.calls[token]

        return await asyncio.wait_for(wait(), timeout)

    def summaries(self) -> list[dict[str, Any]]:
        return [c.summary() for c in self.calls.values()]

    # -- HTTP ------------------------------------------------------------------------------------

    @web.middleware
    async def _cors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        response.headers.update(CORS)
        return response

    def _token(self, request: web.Request) -> str | None:
        """The request's bearer token if it is one of ours (constant-time, every token compared)."""
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        match = None
        for token in self.tokens:
            if hmac.compare_digest(token.encode(), given.strip().encode()):
                match = token
        return match

    @staticmethod
    def _error(status: int, reason: str, **headers: str) -> web.Response:
        return web.Response(status=status, text=reason + "\n", headers=headers)

    def _unauthorized(self) -> web.Response:
        return self._error(401, "missing or unknown bearer token",
                           **{"WWW-Authenticate": 'Bearer realm="whip"'})

    async def _options(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Accept-Post": "application/sdp"})

    async def _post(self, request: web.Request) -> web.Response:
        token = self._token(request)
        if token is None:
            self.timeline.emit("peer", "whip-rejected", status=401, remote=request.remote)
            return self._unauthorized()
        if request.content_length is not None and request.content_length > self.max_body:
            return self._error(413, f"offer too large: {request.content_length} bytes, limit {self.max_body}")
        if request.content_type != "application/sdp":
            return self._error(415, f"Content-Type must be application/sdp, not {request.content_type!r}")
        try:
            offer = await request.text()
        except web.HTTPRequestEntityTooLarge:
            return self._error(413, f"offer too large: limit {self.max_body} bytes")
        call = self.calls.get(token)
        if call is None:
            call = Call(token=token, record_dir=self.record_dir)
        previous = call.current
        session = CallSession(call, self.timeline, downlink=self.downlink, ice_hosts=self.ice_hosts,
                              ice_servers=self.ice_servers, probe_seed=self.probe_seed, gap_ms=self.gap_ms)
        try:
            answer = await session.answer(offer)
        except OfferError as exc:
            await session.close(f"bad offer: {exc}")
            self.timeline.emit("peer", "whip-rejected", status=400, reason=str(exc), call=call.id)
            return self._error(400, str(exc))
        if token not in self.calls:
            self.calls[token] = call
        call.sessions.append(session)
        self.sessions[session.id] = session
        if previous is not None:
            last = previous.tap.last_arrival_ns if previous.tap else None
            self.timeline.emit("peer", "reconnect", call=call.id, session=session.id, previous=previous.id,
                               attempt=call.reconnects, last_uplink_ns=last)
            await previous.close("replaced by a new session of the same call")
        self._call_event.set()
        location = f"/whip/session/{session.id}"
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": location, "ETag": session.etag})

    def _session_for(self, request: web.Request) -> tuple[CallSession | None, web.Response | None]:
        token = self._token(request)
        if token is None:
            return None, self._unauthorized()
        session = self.sessions.get(request.match_info["sid"])
        if session is None or not hmac.compare_digest(session.call.token.encode(), token.encode()):
            return None, self._error(404, "no such WHIP session")
        return session, None

    async def _delete(self, request: web.Request) -> web.Response:
        session, error = self._session_for(request)
        if error is not None:
            return error
        assert session is not None
        await session.close("WHIP DELETE")
        self.sessions.pop(session.id, None)
        return web.Response(status=200)

    async def _patch(self, request: web.Request) -> web.Response:
        session, error = self._session_for(request)
        if error is not None:
            return error
        assert session is not None
        body = await request.text()
        what = "ice-restart" if "a=ice-ufrag" in body else "trickle-ice"
        self.timeline.emit("peer", "lab-limitation", what=what, reason=PATCH_REASON, call=session.call.id,
                           session=session.id)
        return self._error(501, PATCH_REASON)
