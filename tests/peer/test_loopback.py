"""Real aiortc clients against a real WhipPeer on 127.0.0.1: WHIP, uplink log/WAVs, gaps, reconnects."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import numpy as np
import pytest

from harness.audio.analyze import analyze
from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, probe
from harness.audio.wav import read_wav
from harness.peer.rtp_log import decode_logs, read_log
from harness.peer.whip import WhipPeer
from harness.peer.whip_client import ScriptedProbeTrack, WhipClient
from harness.timeline import Timeline
from tests.peer.loaded_host import real_gaps

TOKEN = "tok-123"


async def _wait(pred, timeout=15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _run(peer, seconds, pauses=None, token=TOKEN, downlink_log=None):
    track = ScriptedProbeTrack(MOUTH_SEED, pauses)
    client = WhipClient(peer.url, token, track, downlink_log=downlink_log)
    await client.connect()
    target = 50 * seconds
    await _wait(lambda: track.sent >= target, timeout=seconds * 4 + 10)
    await asyncio.sleep(0.3)  # the last packets in flight
    return client


def _gaps(samples, rate=48000, seed=MOUTH_SEED):
    ref = probe(len(samples) / rate + 2.0, seed)
    return analyze(samples, rate, {"probe": ref}, echo=False)


async def test_connect_uplink_log_and_wavs_match_what_was_sent(tmp_path):
    tl = Timeline(tmp_path / "tl.jsonl")
    async with WhipPeer(bind="127.0.0.1:0", tokens=[TOKEN], record_dir=tmp_path / "rec", timeline=tl) as peer:
        assert peer.url.startswith("http://127.0.0.1:")
        client = await _run(peer, 3, downlink_log=tmp_path / "downlink.rtplog")
        call = peer.calls[TOKEN]
        assert await client.close() == 200
        await _wait(lambda: call.current.closed_ns is not None)
    kinds = {e.kind for e in tl.events(source="peer")}
    assert {"created", "codec", "ice-state", "dtls-state", "connection-state", "first-packet", "closed",
            "rtp-stats"} <= kinds
    meta, packets = read_log(call.log_paths[0])
    assert meta["clock_rate"] == 48000 and len(packets) >= 140
    assert len({p.ssrc for p in packets}) == 1
    seqs = [p.seq for p in packets]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(seqs))
    # payloads are exactly what the client's encoder produced
    from harness.peer.downlink import EncodedProbe
    enc = EncodedProbe.shared(MOUTH_SEED)
    assert [p.payload for p in packets[:50]] == [enc.packet(i) for i in range(50)]
    for axis in ("rtp", "arrival"):
        samples, rate = read_wav(call.wavs[axis])
        assert rate == 48000 and samples.shape[1] == 2
        a = _gaps(samples)
        assert real_gaps(a.gaps, axis) == [], (axis, [g.to_dict() for g in a.gaps])
        assert a.coverage > 0.95
    # the downlink probe reached the client intact
    d = decode_logs([tmp_path / "downlink.rtplog"])
    a = _gaps(d.rtp, seed=DOWNLINK_SEED)
    assert a.gaps == [] and a.matched_s > 2.0


@pytest.mark.parametrize("jump", [True, False])
async def test_300ms_send_pause(tmp_path, jump):
    tl = Timeline()
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path, timeline=tl, downlink="silence") as peer:
        client = await _run(peer, 3, pauses={75: (300.0, jump)})
        call = peer.calls[TOKEN]
        await client.close()
    assert [e for e in tl.events(kind="arrival-gap") if e.fields["arrival_gap_ms"] >= 250]
    # big events only: a loaded machine may add arrival gaps (even ~200 ms stalls) of its own
    stalls = [e for e in tl.events(kind="rtp-stall") if e.fields["stalled_ms"] >= 250]
    jumps = [e for e in tl.events(kind="rtp-ts-jump") if e.fields["jump_ms"] >= 200]
    rtp = _gaps(read_wav(call.wavs["rtp"])[0])
    arrival = _gaps(read_wav(call.wavs["arrival"])[0])
    if jump:
        assert len(jumps) == 1 and not stalls
        assert jumps[0].fields["jump_ms"] == pytest.approx(300, abs=5)
        for axis, a in (("rtp", rtp), ("arrival", arrival)):
            gaps = real_gaps(a.gaps, axis)
            assert len(gaps) == 1 and gaps[0].kind == "lost", [g.to_dict() for g in a.gaps]
            assert gaps[0].lost_ms == pytest.approx(300, abs=40)
    else:
        assert len(stalls) == 1 and not jumps
        assert stalls[0].fields["stalled_ms"] == pytest.approx(300, abs=60)
        assert real_gaps(rtp.gaps, "rtp") == [], [g.to_dict() for g in rtp.gaps]
        gaps = real_gaps(arrival.gaps, "arrival")
        assert len(gaps) == 1, [g.to_dict() for g in arrival.gaps]
        assert gaps[0].kind == "delayed"
        assert gaps[0].added_delay_ms == pytest.approx(300, abs=40)


async def test_reconnect_with_same_token_is_one_call(tmp_path):
    tl = Timeline()
    async with WhipPeer(tokens=[TOKEN, "other"], record_dir=tmp_path, timeline=tl) as peer:
        first = await _run(peer, 1)
        await first.drop()
        second = await _run(peer, 1)
        other = await _run(peer, 1, token="other")
        assert set(peer.calls) == {TOKEN, "other"}
        call = peer.calls[TOKEN]
        assert len(call.sessions) == 2 and call.reconnects == 1
        for c in (second, other):
            await c.close()
    assert len(tl.events(kind="reconnect")) == 1
    assert call.summary()["packets"] >= 90
    meta0, _ = read_log(call.log_paths[0])
    meta1, _ = read_log(call.log_paths[1])
    assert meta0["call"] == meta1["call"] == call.id and TOKEN not in call.id


async def test_whip_http_errors(tmp_path):
    tl = Timeline()
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path, timeline=tl, max_body=8192) as peer, \
            aiohttp.ClientSession() as http:
        sdp = {"Content-Type": "application/sdp"}
        auth = {**sdp, "Authorization": f"Bearer {TOKEN}"}
        async with http.post(peer.url, data="v=0\r\n", headers=sdp) as r:
            assert r.status == 401 and "Bearer" in r.headers["WWW-Authenticate"]
        async with http.post(peer.url, data="v=0\r\n", headers={**sdp, "Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with http.post(peer.url, data="hello", headers=auth) as r:
            assert r.status == 400 and "v=0" in await r.text()
        no_audio = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        async with http.post(peer.url, data=no_audio, headers=auth) as r:
            assert r.status == 400 and "audio" in await r.text()
        async with http.post(peer.url, data="x" * 20000, headers=auth) as r:
            assert r.status == 413
        async with http.post(peer.url, data="v=0", headers={**auth, "Content-Type": "text/plain"}) as r:
            assert r.status == 415
        async with http.options(peer.url) as r:
            assert r.status == 204 and r.headers["Accept-Post"] == "application/sdp"
            assert "Access-Control-Allow-Origin" not in r.headers  # no Origin: not a browser
            assert r.headers["Server"] == "harness-whip"
        page = "http://127.0.0.1:9999"  # a loopback page (a browser WHIP client on the lab machine)
        async with http.options(peer.url, headers={"Origin": page}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == page and r.headers["Vary"] == "Origin"
            assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
        async with http.options(peer.url, headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 204 and "Access-Control-Allow-Origin" not in r.headers
        client = WhipClient(peer.url, TOKEN, ScriptedProbeTrack(MOUTH_SEED))
        await client.connect()
        base = peer.url.rsplit("/whip", 1)[0]
        async with http.patch(base + client.location, data="a=ice-ufrag:x", headers=auth) as r:
            assert r.status == 501 and "ICE restart" in await r.text()
        async with http.delete(base + client.location, headers=sdp) as r:
            assert r.status == 401
        async with http.delete(base + "/whip/session/nope", headers=auth) as r:
            assert r.status == 404
        async with http.delete(base + client.location, headers=auth) as r:
            assert r.status == 200
        await client.drop()
    assert tl.events(kind="lab-limitation")[0].fields["what"] == "ice-restart"
    assert [e.fields["status"] for e in tl.events(kind="whip-rejected")] == [400, 400, 413, 415]
    # unauthenticated requests are counted, not one event each: the first at once, the rest at stop
    counted = tl.events(kind="whip-unauthorized")
    assert [e.fields["count"] for e in counted] == [1, 2] and counted[-1].fields["total"] == 3
    assert tl.events(kind="closed")[-1].fields["reason"] == "WHIP DELETE"


async def test_echo_downlink_returns_the_uplink(tmp_path):
    async with WhipPeer(tokens=[TOKEN], record_dir=tmp_path, downlink="echo") as peer:
        client = await _run(peer, 3, downlink_log=tmp_path / "down.rtplog")
        await client.close()
    d = decode_logs([tmp_path / "down.rtplog"])
    a = _gaps(d.rtp)
    assert a.matched_s > 1.5 and np.isfinite(a.latency_ms)
