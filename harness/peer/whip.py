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

Hostile clients (../shared/reference/reliability-probe.md): every client mistake is a 4xx with a
reason, never a 500; POSTs of one token are served one at a time (two overlapping POSTs both get
201, the older session is closed with a ``reconnect`` event, the call keeps both); unauthenticated
requests are counted (``whip-unauthorized`` at most every ``REJECT_EVENT_S``), not logged one by
one; closed sessions are summarised and their WebRTC state released; connections are bounded by
:class:`harness.peer.guard.ConnectionGuard`. CORS headers go only to allowed browser origins
(loopback pages by default, more with ``cors_origins``); no ``Server`` version header.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp.web_response
from aiohttp import web

from harness.errors import UsageError
from harness.peer import ice
from harness.peer.call import Call, call_id_for
from harness.peer.downlink import MODES
from harness.peer.guard import ConnectionGuard, RateLimitedLog, RateLimitedLogFilter
from harness.peer.rtp_tap import check_private_api
from harness.peer.session import CallSession, OfferError
from harness.timeline import Timeline

MAX_BODY = 64 * 1024  # an audio offer is ~2-6 KiB; anything near this is not an offer
BODY_TIMEOUT_S = 10.0  # the offer must arrive within this once its headers did
DRAIN_TIMEOUT_S = 0.5  # an unread body (a 401's) is dropped if it arrives this fast, else the connection
REJECT_EVENT_S = 10.0  # at most one whip-unauthorized timeline event per this many seconds
SERVER_HEADER = "harness-whip"  # never the Python and aiohttp versions
PATCH_REASON = ("this lab peer (aiortc 1.16) supports neither trickle ICE nor ICE restart: "
                "open a new WHIP session with the same token instead")
CORS = {  # what a browser WHIP client needs: its preflight, the Authorization header, Location/ETag
    "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Post",
    "Access-Control-Max-Age": "600",
}
SDP_CHARSETS = ("utf-8", "utf8", "us-ascii", "ascii")


def parse_bind(bind: str) -> tuple[str, int]:
    """(host, port) of ``HOST:PORT``; UsageError naming ``--bind`` for a bad port or a host that does
    not resolve (a name is allowed: it is resolved once, here)."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    if int(port) > 65535:
        raise UsageError(f"--bind {bind!r}: port {port} is out of range (0-65535)")
    host = host.strip("[]")
    resolve_host(host, bind)
    return host, int(port)


def resolve_host(host: str, bind: str) -> list[str]:
    """The IP addresses ``host`` stands for (itself when it is one)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"--bind {bind!r}: {host!r} is neither an IP address nor a host name that "
                         f"resolves ({exc}); give e.g. 127.0.0.1:8080") from None
    return sorted({str(i[4][0]) for i in infos})


def check_record_dir(record_dir: str | Path) -> Path:
    """Create ``record_dir`` (UsageError naming ``--record-dir`` when it cannot hold recordings)."""
    if str(record_dir).strip() == "":
        raise UsageError("--record-dir is empty: name a folder for the packet logs, WAVs and timeline")
    path = Path(record_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--record-dir {path}: exists and is not a folder; name a folder") from None
    except OSError as exc:
        raise UsageError(f"--record-dir {path}: cannot create it ({exc.strerror or exc})") from None
    if not path.is_dir():
        raise UsageError(f"--record-dir {path}: is not a folder; name a folder")
    probe = path / f".write-test-{uuid_hex()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--record-dir {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def uuid_hex() -> str:
    import uuid

    return uuid.uuid4().hex[:12]


def _quiet_aiohttp() -> None:
    """aiohttp answers a malformed request itself (before any handler or signal of ours), naming its
    and Python's versions in ``Server`` and logging a traceback per request. Its ``Server`` default is
    the module constant ``aiohttp.web_response.SERVER_SOFTWARE`` (3.14): set it here, process-wide (the
    peer is the only aiohttp server in a harness process; the virtual lab's run in their own). The log
    gets one line per kind of error per minute (tests/reliability/test_peer_hostile.py)."""
    aiohttp.web_response.SERVER_SOFTWARE = SERVER_HEADER
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, RateLimitedLogFilter) for f in server_log.filters):
        server_log.addFilter(RateLimitedLogFilter())


def _loopback_origin(origin: str) -> bool:
    host = urlsplit(origin).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WhipPeer:
    """A WHIP server whose sessions are aiortc peer connections with a tapped uplink."""

    def __init__(self, bind: str = "127.0.0.1:0", tokens: Iterable[str] = (),
                 record_dir: str | Path = "peer-rec",
                 timeline: Timeline | None = None, downlink: str = "probe", ice_hosts: Iterable[str] = (),
                 ice_servers: Iterable[str] = (), tls_cert: str | Path | None = None,
                 tls_key: str | Path | None = None, max_body: int = MAX_BODY, probe_seed: int | None = None,
                 decode_on_exit: bool = True, gap_ms: float = 60.0,
                 consent_timeout_s: float | None = None, cors_origins: Iterable[str] = (),
                 guard: ConnectionGuard | None = None) -> None:
        """``consent_timeout_s``: how long a connection whose phone stopped answering lives
        (:func:`harness.peer.ice.set_consent_timeout`; default RFC 7675's 30 s). ``cors_origins``:
        browser origins (``http://host:port``, or ``*``) allowed besides loopback pages."""
        if downlink not in MODES:
            raise UsageError(f"--downlink {downlink!r}: choose one of {', '.join(MODES)}")
        self.host, self.port = parse_bind(bind)
        self.tokens: list[str] = []
        for t in tokens:
            self.add_token(t)
        self.record_dir = check_record_dir(record_dir)
        self.downlink = downlink
        configured = list(ice_hosts)
        if not configured and self.host not in ("", "0.0.0.0", "::"):
            configured = resolve_host(self.host, bind)[:1]  # a host name binds; ICE needs its address
        self.ice_hosts = ice.default_hosts(self.host, configured)
        self.ice_servers = ice.validate_servers(list(ice_servers))
        if consent_timeout_s is not None:
            ice.set_consent_timeout(consent_timeout_s)
        self.cors_origins = [o.rstrip("/") for o in cors_origins]
        if timeline is None:
            timeline = Timeline(self.record_dir / "peer-timeline.jsonl")
        self.timeline = timeline
        self.max_body = max_body
        self.probe_seed = probe_seed
        self.decode_on_exit = decode_on_exit
        self.gap_ms = gap_ms
        self.ssl = self._ssl(tls_cert, tls_key)
        self.calls: dict[str, Call] = {}
        self.sessions: dict[str, CallSession] = {}
        """Live sessions by id (a closed session leaves; its call keeps its summary)."""
        self.guard = guard or ConnectionGuard()
        self.unauthorized = 0  # requests refused for a missing or unknown token, ever
        self._unauthorized_reported = 0
        self._unauthorized_event_at = float("-inf")
        self._last_remote: str | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, Call] = {}
        self._runner: web.AppRunner | None = None
        self._call_event = asyncio.Event()
        self._log: RateLimitedLog | None = None

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
        _quiet_aiohttp()
        loop = asyncio.get_running_loop()
        if loop.get_exception_handler() is None:  # EMFILE storms: one line per kind per minute
            self._log = RateLimitedLog()
            loop.set_exception_handler(self._log)
        app = web.Application(client_max_size=self.max_body, middlewares=[self._cors])
        app.on_response_prepare.append(self._headers)
        app.router.add_route("POST", "/whip", self._post)
        app.router.add_route("OPTIONS", "/whip", self._options)
        app.router.add_route("DELETE", "/whip/session/{sid}", self._delete)
        app.router.add_route("PATCH", "/whip/session/{sid}", self._patch)
        app.router.add_route("OPTIONS", "/whip/session/{sid}", self._options)
        # lingering_time=0: a body the handler did not read (a 413, a broken gzip) is not drained
        # for 10 s (nor logged as an unhandled exception): the connection closes after the answer
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=self.guard.idle_timeout_s,
                                     lingering_time=0)
        await self._runner.setup()
        assert self._runner.server is not None
        self.guard.install(self._runner.server)
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl)
        try:
            await site.start()
        except (OSError, OverflowError) as exc:
            await self.guard.close()
            await self._runner.cleanup()
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"--bind {self.host}:{self.port}: cannot listen ({reason})") from exc
        server: Any = site._server  # aiohttp keeps the bound asyncio Server (its sockets) here
        sockets = server.sockets if server else []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.timeline.emit("peer", "listening", url=self.url, downlink=self.downlink,
                           ice_hosts=list(self.ice_hosts or []), ice_servers=self.ice_servers)

    async def stop(self) -> None:
        for session in list(self.sessions.values()):
            await session.close("peer stopped")
        await self.guard.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._report_unauthorized(force=True)
        if self.decode_on_exit:
            for call in self.calls.values():
                await asyncio.get_running_loop().run_in_executor(None, call.decode)
        self.timeline.emit("peer", "stopped", calls=len(self.calls))
        loop = asyncio.get_running_loop()
        if self._log is not None and loop.get_exception_handler() is self._log:
            loop.set_exception_handler(None)

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
        authenticated = self._token(request) is not None
        self.guard.request_started(request.protocol, authenticated)
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
            if request.body_exists and not request.content.at_eof() and not await self._drain(request):
                response.force_close()  # a body left unread (413, a slow one): the connection ends here
            origin = request.headers.get("Origin")
            if origin and self._origin_allowed(origin):
                response.headers.update(CORS)
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Vary"] = "Origin"
            return response
        finally:
            self.guard.request_finished(request.protocol)

    async def _drain(self, request: web.Request) -> bool:
        """Read and drop an unread body that is small and already arriving (keep-alive stays usable);
        False for a large or slow one (the connection is then closed after the answer)."""
        if request.content_length is None or request.content_length > self.max_body:
            return False
        try:
            await asyncio.wait_for(request.read(), DRAIN_TIMEOUT_S)
        except (TimeoutError, web.HTTPRequestEntityTooLarge, web.RequestPayloadError):
            return False
        return True

    @staticmethod
    async def _headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = SERVER_HEADER

    def _origin_allowed(self, origin: str) -> bool:
        return "*" in self.cors_origins or origin.rstrip("/") in self.cors_origins or _loopback_origin(origin)

    def _token(self, request: web.Request) -> str | None:
        """The request's bearer token if it is one of ours (constant-time, every token compared)."""
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        # aiohttp decodes header bytes as UTF-8 with surrogate escapes: a latin-1 byte stays a surrogate
        offered = given.strip().encode("utf-8", "surrogateescape")
        match = None
        for token in self.tokens:
            if hmac.compare_digest(token.encode(), offered):
                match = token
        return match

    @staticmethod
    def _error(status: int, reason: str, **headers: str) -> web.Response:
        return web.Response(status=status, text=reason + "\n", headers=headers)

    def _unauthorized(self, request: web.Request) -> web.Response:
        self.unauthorized += 1
        self._last_remote = request.remote
        self._report_unauthorized()
        return self._error(401, "missing or unknown bearer token",
                           **{"WWW-Authenticate": 'Bearer realm="whip"'})

    def _report_unauthorized(self, force: bool = False) -> None:
        """One ``whip-unauthorized`` event per REJECT_EVENT_S with the count since the last one: a flood
        of unauthenticated requests costs a counter, not an event each (memory and disk stay flat)."""
        new = self.unauthorized - self._unauthorized_reported
        now = time.monotonic()
        if new <= 0 or (not force and now - self._unauthorized_event_at < REJECT_EVENT_S):
            return
        self.timeline.emit("peer", "whip-unauthorized", status=401, count=new, total=self.unauthorized,
                           remote=self._last_remote)
        self._unauthorized_reported = self.unauthorized
        self._unauthorized_event_at = now

    async def _options(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Accept-Post": "application/sdp"})

    async def _read_offer(self, request: web.Request) -> str | web.Response:
        """The offer's text, or the 4xx response that says what is wrong with the request."""
        if request.content_length is not None and request.content_length > self.max_body:
            return self._error(413, f"offer too large: {request.content_length} bytes, limit {self.max_body}")
        if request.content_type != "application/sdp":
            return self._error(415, f"Content-Type must be application/sdp, not {request.content_type!r}")
        charset = (request.charset or "utf-8").lower()
        if charset not in SDP_CHARSETS:
            return self._error(415, f"charset {charset[:40]!r}: send the SDP offer as UTF-8")
        try:
            body = await asyncio.wait_for(request.read(), BODY_TIMEOUT_S)
        except web.HTTPRequestEntityTooLarge:
            return self._error(413, f"offer too large: limit {self.max_body} bytes")
        except TimeoutError:
            return self._error(408, f"the offer's body did not arrive within {BODY_TIMEOUT_S:.0f} s")
        except web.RequestPayloadError as exc:  # bad gzip/deflate, a broken chunked body
            return self._error(400, f"the request body cannot be read ({str(exc)[:200]})")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._error(400, f"the offer is not UTF-8 text (byte {body[exc.start]:#04x} at offset "
                                    f"{exc.start})")

    async def _post(self, request: web.Request) -> web.Response:
        token = self._token(request)
        if token is None:
            return self._unauthorized(request)
        offer = await self._read_offer(request)
        if isinstance(offer, web.Response):
            reason = (offer.text or "").strip()
            self.timeline.emit("peer", "whip-rejected", status=offer.status, reason=reason,
                               call=call_id_for(token))
            return offer
        # One POST per token at a time: an app retrying a slow POST must not leave two live sessions
        # with the same index, one of them missing from the call (reliability-probe.md finding 3).
        lock = self._locks.setdefault(token, asyncio.Lock())
        async with lock:
            return await self._answer(token, offer)

    async def _answer(self, token: str, offer: str) -> web.Response:
        call = self.calls.get(token) or self._pending.get(token)
        if call is None:  # kept until its first session is answered: refused offers reuse its folder
            call = self._pending[token] = Call(token=token, record_dir=self.record_dir)
        previous = call.current
        session = CallSession(call, self.timeline, downlink=self.downlink, ice_hosts=self.ice_hosts,
                              ice_servers=self.ice_servers, probe_seed=self.probe_seed, gap_ms=self.gap_ms,
                              on_closed=self._closed)
        try:
            answer = await session.answer(offer)
        except OfferError as exc:
            await session.close(f"bad offer: {exc}")
            session.discard_log()
            if not call.sessions:
                call.discard_dir()
            self.timeline.emit("peer", "whip-rejected", status=400, reason=str(exc), call=call.id)
            return self._error(400, str(exc))
        if token not in self.calls:
            self.calls[token] = call
            self._pending.pop(token, None)
        call.sessions.append(session)
        self.sessions[session.id] = session
        if previous is not None and not previous.closed:
            last = previous.tap.last_arrival_ns if previous.tap else None
            self.timeline.emit("peer", "reconnect", call=call.id, session=session.id, previous=previous.id,
                               attempt=call.reconnects, last_uplink_ns=last)
            await previous.close("replaced by a new session of the same call")
        elif previous is not None:
            self.timeline.emit("peer", "reconnect", call=call.id, session=session.id, previous=previous.id,
                               attempt=call.reconnects, last_uplink_ns=previous.last_arrival_ns)
        self._call_event.set()
        location = f"/whip/session/{session.id}"
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": location, "ETag": session.etag})

    def _closed(self, session: CallSession) -> None:
        """A session ended: it leaves the live table; its call keeps its summary."""
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]

    def _session_for(self, request: web.Request) -> tuple[CallSession | None, web.Response | None]:
        token = self._token(request)
        if token is None:
            return None, self._unauthorized(request)
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
        try:
            body = (await asyncio.wait_for(request.read(), BODY_TIMEOUT_S)).decode("utf-8", "replace")
        except (web.HTTPRequestEntityTooLarge, TimeoutError, web.RequestPayloadError):
            body = ""
        what = "ice-restart" if "a=ice-ufrag" in body else "trickle-ice"
        self.timeline.emit("peer", "lab-limitation", what=what, reason=PATCH_REASON, call=session.call.id,
                           session=session.id)
        return self._error(501, PATCH_REASON)
