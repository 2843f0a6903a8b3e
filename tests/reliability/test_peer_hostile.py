"""The WHIP peer against hostile and careless clients (reliability-probe.md findings 3, 5, 6, 7 and §3):
real aiohttp server, real sockets, real aiortc clients on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import aiohttp
import pytest

import harness.peer.whip
from harness.audio.probe import MOUTH_SEED
from harness.errors import UsageError
from harness.peer.guard import ConnectionGuard, RateLimitedLog
from harness.peer.whip import WhipPeer
from harness.peer.whip_client import ScriptedProbeTrack, WhipClient
from harness.timeline import Timeline

TOKEN = "T"
SDP_TYPE = "application/sdp"
SDP = {"Content-Type": SDP_TYPE}
AUTH = {**SDP, "Authorization": f"Bearer {TOKEN}"}


def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes (a header aiohttp's client would refuse to send); the status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


async def test_client_mistakes_get_4xx_with_a_reason_never_500(tmp_path: Path, offer_sdp: str) -> None:
    tl = Timeline(tmp_path / "tl.jsonl")
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec", timeline=tl) as peer:
        loop = asyncio.get_running_loop()
        latin1 = (b"POST /whip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\xf6ken\r\n"
                  b"Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n")
        status, body = await loop.run_in_executor(None, _raw, peer.port, latin1)
        assert status == 401 and b"bearer token" in body
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            cases = [
                ({**AUTH}, b"v=0\r\n\xff\xfe", 400, "not UTF-8"),
                ({**AUTH, "Content-Type": f"{SDP_TYPE}; charset=nope"}, offer_sdp.encode(), 415, "charset"),
                ({**AUTH, "Content-Type": f"{SDP_TYPE}; charset=utf-16"}, offer_sdp.encode(), 415, "UTF-8"),
                ({**AUTH, "Content-Encoding": "gzip"}, offer_sdp.encode(), 400, "cannot be read"),
                ({**AUTH}, offer_sdp.replace("a=sendrecv", "a=bogusdir").encode(), 400, "WebRTC stack"),
                ({**AUTH}, offer_sdp.replace("a=sendrecv", "a=sendrecX").encode(), 400, "WebRTC stack"),
            ]
            for headers, data, want, reason in cases:
                async with http.post(peer.url, data=data, headers=headers) as r:
                    assert (r.status, reason in await r.text()) == (want, True), (headers, r.status)
    created = {e.fields["session"] for e in tl.events(kind="created")}
    closed = {e.fields["session"] for e in tl.events(kind="closed")}
    assert len(created) == 2 and created == closed  # the offers aiortc refused late were closed too
    assert not list((tmp_path / "rec").glob("call-*/*.rtplog"))  # their empty logs are gone


async def test_concurrent_posts_on_one_token_keep_every_session(tmp_path: Path) -> None:
    """Finding 3: both sessions that got 201 are in the call (summary and WAVs), one live at a time."""
    tl = Timeline(tmp_path / "tl.jsonl")
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec", timeline=tl) as peer:
        tracks = [ScriptedProbeTrack(MOUTH_SEED), ScriptedProbeTrack(MOUTH_SEED)]
        clients = [WhipClient(peer.url, TOKEN, t) for t in tracks]
        done = await asyncio.gather(*(c.connect(timeout=10) for c in clients), return_exceptions=True)
        assert all(c.location for c in clients)  # both got 201
        call = peer.calls[TOKEN]
        assert [s.index for s in call.sessions] == [0, 1]
        assert len(peer.sessions) == 1 and not call.sessions[1].closed and call.sessions[0].closed
        live = next(i for i, c in enumerate(clients) if c.location.endswith(call.sessions[1].id))
        assert not isinstance(done[live], BaseException)
        start = tracks[live].sent
        while tracks[live].sent < start + 100:
            await asyncio.sleep(0.05)
        await clients[live].close()
        await clients[1 - live].drop()
    summary = call.summary()
    assert summary["sessions"] == 2 and len(summary["logs"]) == 2
    assert all(Path(p).is_file() for p in summary["logs"])
    assert summary["packets"] >= 100 and set(call.wavs) == {"rtp", "arrival"}
    (reconnect,) = tl.events(kind="reconnect")
    assert reconnect.fields["previous"] == call.sessions[0].id
    replaced = [e for e in tl.events(kind="closed") if e.fields["session"] == call.sessions[0].id]
    assert replaced[0].fields["reason"] == "replaced by a new session of the same call"


async def test_twenty_overlapping_posts_stay_one_call(tmp_path: Path, offer_sdp: str) -> None:
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec") as peer, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def post() -> int:
            async with http.post(peer.url, data=offer_sdp, headers=AUTH) as r:
                return r.status
        assert await asyncio.gather(*(post() for _ in range(20))) == [201] * 20
        call = peer.calls[TOKEN]
        assert [s.index for s in call.sessions] == list(range(20))
        assert len(peer.sessions) == 1 and sum(not s.closed for s in call.sessions) == 1
    assert len(list(call.dir.glob("*.rtplog"))) == 20 and call.summary()["sessions"] == 20


async def test_unauthenticated_flood_costs_a_counter_not_memory(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 6: 3,000 401s on one keep-alive socket: one or two timeline events, not 3,000."""
    # one event at the first 401, one at the stop: a loaded host may take over 10 s for the flood
    monkeypatch.setattr(harness.peer.whip, "REJECT_EVENT_S", 3600.0)
    tl = Timeline(tmp_path / "tl.jsonl")
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec", timeline=tl) as peer:
        def flood() -> None:
            with socket.create_connection(("127.0.0.1", peer.port), timeout=10) as s:
                for i in range(3000):
                    s.sendall(f"POST /whip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer junk{i}\r\n"
                              "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n".encode())
                    b = b""
                    while not b.endswith(b"missing or unknown bearer token\n"):
                        b += s.recv(65536)
        await asyncio.get_running_loop().run_in_executor(None, flood)
        assert peer.unauthorized == 3000
    events = tl.events(kind="whip-unauthorized")
    assert 1 <= len(events) <= 2 and events[-1].fields["total"] == 3000
    assert len(tl.all) < 20 and (tmp_path / "tl.jsonl").stat().st_size < 4000


async def test_slowloris_is_timed_out_and_capped(tmp_path: Path, offer_sdp: str) -> None:
    """Finding 5: half-open requests are closed (header deadline), the oldest first beyond the cap, and
    a real POST is served meanwhile."""
    guard = ConnectionGuard(header_timeout_s=1.5, idle_timeout_s=3.0, max_unauthenticated=8)
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec", guard=guard) as peer:
        conns = []
        for _ in range(30):
            r, w = await asyncio.open_connection("127.0.0.1", peer.port)
            w.write(b"POST /whip HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            conns.append((r, w))
        deadline = time.monotonic() + 10
        while guard.evicted < 22:  # the accepts are served by this loop: let it run them
            assert time.monotonic() < deadline, (guard.evicted, len(guard.conns))
            await asyncio.sleep(0.05)
        assert len(guard.conns) <= 8
        async with aiohttp.ClientSession() as http, http.post(peer.url, data=offer_sdp, headers=AUTH) as resp:
            assert resp.status == 201
        deadline = time.monotonic() + 10
        while not all(r.at_eof() for r, _ in conns):
            for r, w in conns:
                if not r.at_eof():
                    w.write(b"a")  # one more header byte: still not a request
                    await asyncio.wait_for(r.read(), 3)
            assert time.monotonic() < deadline
        assert guard.closed_slow >= 1
        for _, w in conns:
            w.close()


EMFILE_PEER = textwrap.dedent("""
    import asyncio, resource, sys
    from harness.peer.guard import ConnectionGuard
    from harness.peer.whip import WhipPeer
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))
    async def main():
        # no cap, so the FDs run out: what is left to bound is the log
        async with WhipPeer(tokens=["T"], record_dir=sys.argv[1], guard=ConnectionGuard(
                header_timeout_s=60, max_unauthenticated=10**6)) as peer:
            print(peer.port, flush=True)
            await asyncio.sleep(float(sys.argv[2]))
    asyncio.run(main())
""")


def test_emfile_storm_is_one_log_line_per_kind(tmp_path: Path) -> None:
    """Finding 5's 644,734 tracebacks: at the FD limit, accept errors are logged once, then counted."""
    proc = subprocess.Popen([sys.executable, "-c", EMFILE_PEER, str(tmp_path / "rec"), "6"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        socks = []
        for _ in range(200):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(4)
        for s in socks:
            s.close()
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert err.count("Too many open files") >= 1  # the limit was reached and said so
    assert err.count("Too many open files") <= 2 and "Traceback" not in err, err[-2000:]


def test_rate_limited_log_counts_repeats() -> None:
    now = [0.0]
    lines: list[str] = []

    class Sink:
        def write(self, s: str) -> None:
            lines.append(s)

        def flush(self) -> None:
            pass

    log = RateLimitedLog(interval_s=60, stream=Sink(), clock=lambda: now[0])  # type: ignore[arg-type]
    err = OSError(24, "Too many open files")
    for _ in range(1000):
        log(None, {"message": "socket.accept() out of system resource", "exception": err})  # type: ignore[arg-type]
    now[0] = 61.0
    log(None, {"message": "socket.accept() out of system resource", "exception": err})  # type: ignore[arg-type]
    text = "".join(lines)
    assert log.written == 2 and "(999 more like this in the last 60 s)" in text


async def test_closed_sessions_are_released(tmp_path: Path) -> None:
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec") as peer:
        client = WhipClient(peer.url, TOKEN, ScriptedProbeTrack(MOUTH_SEED))
        await client.connect()
        await asyncio.sleep(0.5)
        assert await client.close() == 200
        await client.drop()
        session = peer.calls[TOKEN].sessions[0]
        assert peer.sessions == {} and session.closed and session.pc is None
        assert session.totals()["packets"] > 0 and peer.calls[TOKEN].summary()["sessions"] == 1


async def test_bind_accepts_a_host_name(tmp_path: Path) -> None:
    async with WhipPeer(bind="localhost:0", tokens=[TOKEN], record_dir=tmp_path / "rec") as peer:
        assert peer.url.startswith("http://localhost:") and peer.ice_hosts == ("127.0.0.1",)
        client = WhipClient(peer.url, TOKEN, ScriptedProbeTrack(MOUTH_SEED))
        await client.connect()
        await client.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--record-dir", "/etc/hostname"], "exists and is not a folder"),
    (["--record-dir", "{tmp}/file/sub"], "cannot create it"),
    (["--record-dir", "/proc/nonexistent"], "cannot create it"),
    (["--record-dir", ""], "--record-dir is empty"),
    (["--record-dir", "{tmp}/r", "--bind", "127.0.0.1:99999"], "out of range"),
    (["--record-dir", "{tmp}/r", "--bind", "example.invalid:18450"], "--bind 'example.invalid:18450'"),
    (["--record-dir", "{tmp}/r", "--bind", "256.1.1.1:18450"], "--bind '256.1.1.1:18450'"),
    (["--record-dir", "{tmp}/r", "--ice-server", "garbage"], "--ice-server 'garbage': malformed uri"),
    (["--record-dir", "{tmp}/r", "--ice-server", "turn:1.2.3.4"], "only stun: servers"),
])
def test_peer_start_mistakes_are_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "file").write_text("")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = subprocess.run([sys.executable, "-m", "harness", "peer", "--token", "T", *args], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_tokens_from_a_file_or_the_environment(tmp_path: Path) -> None:
    from argparse import Namespace

    from harness.cli.peer import tokens_from

    f = tmp_path / "tokens"
    f.write_text("# lab tokens\nalpha\n\n  beta  \n")
    f.chmod(0o600)
    args = Namespace(token=["gamma"], token_file=str(f))
    assert tokens_from(args, {"HARNESS_PEER_TOKENS": "delta, epsilon"}) == ["gamma", "alpha", "beta", "delta",
                                                                          "epsilon"]
    with pytest.raises(UsageError, match="no token"):
        tokens_from(Namespace(token=[], token_file=None), {})
    (tmp_path / "empty").write_text("# nothing\n")
    with pytest.raises(UsageError, match="holds no token"):
        tokens_from(Namespace(token=[], token_file=str(tmp_path / "empty")), {})
    env = {**os.environ, "HARNESS_PEER_TOKENS": "secret-from-env"}
    r = subprocess.run([sys.executable, "-m", "harness", "peer", "--record-dir", str(tmp_path / "r"),
                        "--bind", "127.0.0.1:99999"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "out of range" in r.stderr  # got past the token check


async def test_summary_json_of_a_live_peer(tmp_path: Path) -> None:
    """The peer CLI writes each call's summary to <call dir>/summary.json (what `peer decode` rebuilds)."""
    from harness.peer.summary import add_uplink_analysis, write_summary

    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec") as peer:
        client = WhipClient(peer.url, TOKEN, ScriptedProbeTrack(MOUTH_SEED))
        await client.connect()
        await asyncio.sleep(1.5)
        await client.close()
    call = peer.calls[TOKEN]
    s = add_uplink_analysis(call.summary(), call.wavs, None)
    data = json.loads(write_summary(call.dir, s).read_text())
    assert data["uplink_polarity_rtp"] == "normal" and data["uplink_coverage_rtp"] > 0.9


async def test_malformed_requests_name_no_versions_and_log_once(tmp_path: Path, caplog) -> None:
    """aiohttp answers framing errors itself: its Server header and its per-request tracebacks."""
    import logging

    from harness.peer.guard import RateLimitedLogFilter

    caplog.set_level("DEBUG", logger="aiohttp.server")
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path / "rec") as peer:
        for f in logging.getLogger("aiohttp.server").filters:
            if isinstance(f, RateLimitedLogFilter):
                f.kinds.clear()  # process-wide: an earlier test may have logged this kind already

        def garbage() -> list[bytes]:
            heads = []
            for _ in range(50):
                with socket.create_connection(("127.0.0.1", peer.port), timeout=5) as s:
                    s.sendall(b"GET /whip HTTP/1.1\r\nHost: x\r\nBad Header\x00: y\r\n\r\n")
                    data = b""
                    with contextlib.suppress(OSError):
                        while chunk := s.recv(65536):
                            data += chunk
                    heads.append(data.split(b"\r\n\r\n")[0])
            return heads
        heads = await asyncio.get_running_loop().run_in_executor(None, garbage)
    assert all(h.startswith(b"HTTP/1.0 400") and b"Server: harness-whip" in h for h in heads), heads[0]
    logged = [r for r in caplog.records if r.name == "aiohttp.server" and r.levelno >= 30]
    assert len(logged) == 1 and logged[0].exc_info is None and "\n" not in logged[0].getMessage()


@pytest.mark.parametrize(("change", "reason"), [
    (("a=fingerprint:sha-256", "a=fingerprint:sha-256 ZZ:ZZ"), "not hex bytes"),
    (("m=audio", "m=audio 0 UDP/TLS/RTP/SAVPF 96"), "port 0"),
    (("a=sendrecv", "a=inactive"), "a=inactive"),
    (("a=rtpmap:96 opus/48000/2", "a=rtpmap:96 opus/0/2"), "not opus/48000/2"),
])
def test_offers_that_can_never_connect_are_refused_at_once(offer_sdp: str, change: tuple[str, str],
                                                           reason: str) -> None:
    """§3: they used to get 201 and fail 30-60 s later in ICE/DTLS."""
    from harness.peer.session import OfferError, check_offer

    key, new = change
    lines = offer_sdp.split("\r\n")
    assert any(line.startswith(key) for line in lines)
    bad = "\r\n".join(new if line.startswith(key) else line for line in lines)
    with pytest.raises(OfferError, match=reason):
        check_offer(bad)
    check_offer(offer_sdp)  # the real offer passes
    many = "".join(f"a=candidate:{j} 1 udp {j} 127.200.{j // 250}.{j % 250 + 1} {1000 + j} typ host\r\n"
                   for j in range(900))
    with pytest.raises(OfferError, match="901 ICE candidates"):  # and the offer's own
        check_offer(offer_sdp.replace("a=candidate:", many + "a=candidate:", 1))
