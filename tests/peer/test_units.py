"""Pure logic of the peer: ICE host choice, tap detection (jump vs stall vs loss), call identity."""

from __future__ import annotations

import aioice.ice
import pytest
from aiortc.rtp import RtpPacket

from harness.errors import UsageError
from harness.peer import ice
from harness.peer.call import call_id_for
from harness.peer.rtp_log import RtpLogWriter, read_log
from harness.peer.rtp_tap import UplinkTap
from harness.peer.session import OfferError, check_offer
from harness.peer.whip import parse_bind
from harness.timeline import Timeline


def test_ice_host_addresses_are_scoped_to_the_block():
    ice.install()
    default = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    assert "127.0.0.1" not in default  # aioice's own behaviour, unchanged outside the block
    with ice.host_addresses(["127.0.0.1", "::1"]):
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == default


def test_ice_host_defaults_and_validation():
    assert ice.default_hosts("127.0.0.1") == ("127.0.0.1",)
    assert ice.default_hosts("0.0.0.0") is None
    assert ice.default_hosts("0.0.0.0", ["10.0.0.2", "10.0.0.3"]) == ("10.0.0.2", "10.0.0.3")
    with pytest.raises(UsageError, match="not an IP address"):
        ice.validate(["lab-host"])
    with pytest.raises(UsageError, match="unspecified"):
        ice.validate(["0.0.0.0"])
    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_bind("8080")


def _tap(tmp_path):
    tl = Timeline()
    return tl, UplinkTap(RtpLogWriter(tmp_path / "t.rtplog", {}), tl, {"call": "c"}, gap_ms=60)


def _feed(tap, plan):
    """plan: (arrival ms, seq, rtp ts in ms)."""
    for arrival, seq, ts in plan:
        tap(RtpPacket(payload_type=111, sequence_number=seq & 0xFFFF, timestamp=(ts * 48) & 0xFFFFFFFF,
                      ssrc=5, payload=b"x"), int(arrival * 1e6))


def test_tap_tells_stall_from_jump_from_loss(tmp_path):
    steady = [(i * 20, i, i * 20) for i in range(10)]
    tl, tap = _tap(tmp_path)  # packet 10 arrives 300 ms late, timestamps did not move: a stall
    _feed(tap, [*steady, (500, 10, 200), (520, 11, 220)])
    assert [e.kind for e in tl.events(source="peer")] == ["first-packet", "arrival-gap", "rtp-stall"]
    assert tl.events(kind="rtp-stall")[0].fields["stalled_ms"] == pytest.approx(300)
    tl, tap = _tap(tmp_path)  # the sender skipped 300 ms: arrival gap and timestamp jump, no stall
    _feed(tap, [*steady, (500, 10, 500), (520, 11, 520)])
    assert [e.kind for e in tl.events(source="peer")] == ["first-packet", "arrival-gap", "rtp-ts-jump"]
    tl, tap = _tap(tmp_path)  # 5 packets lost in the network: neither (the seq advance explains it)
    _feed(tap, [*steady, (300, 15, 300)])
    assert [e.kind for e in tl.events(source="peer")] == ["first-packet", "arrival-gap"]
    assert tap.totals() == {"packets": 11, "lost": 5, "ssrcs": 1}
    _, packets = read_log(tmp_path / "t.rtplog")
    assert len(packets) == 11


def test_tap_reports_ssrc_change_and_silence(tmp_path):
    tl, tap = _tap(tmp_path)
    _feed(tap, [(0, 1, 0), (20, 2, 20)])
    tap(RtpPacket(payload_type=111, sequence_number=9, timestamp=0, ssrc=6, payload=b"y"), int(40e6))
    assert tl.events(kind="ssrc-change")[0].fields == {"old": 5, "new": 6, "call": "c"}
    tap.check_silence(int(100e6), 500)
    assert not tl.events(kind="uplink-stopped")
    tap.check_silence(int(600e6), 500)
    tap.check_silence(int(700e6), 500)
    assert len(tl.events(kind="uplink-stopped")) == 1
    tap(RtpPacket(payload_type=111, sequence_number=10, timestamp=960, ssrc=6, payload=b"y"), int(800e6))
    assert len(tl.events(kind="uplink-resumed")) == 1


def test_offer_checks_name_the_problem():
    for sdp, reason in [("", "empty body"), ("hello", "v=0"),
                        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "no audio"),
                        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
                         "c=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\n", "opus")]:
        with pytest.raises(OfferError, match=reason):
            check_offer(sdp)


def test_call_id_does_not_leak_the_token():
    assert call_id_for("secret-token") == call_id_for("secret-token") != call_id_for("other")
    assert "secret" not in call_id_for("secret-token")


async def test_tls_endpoint(tmp_path):
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from harness.audio.probe import MOUTH_SEED
    from harness.peer.whip import WhipPeer
    from harness.peer.whip_client import ScriptedProbeTrack, WhipClient

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (tmp_path / "k.pem").write_bytes(pem)
    with pytest.raises(UsageError, match="go together"):
        WhipPeer(tls_cert=tmp_path / "c.pem", record_dir=tmp_path)
    trust = ssl.create_default_context(cafile=str(tmp_path / "c.pem"))
    async with WhipPeer(tokens=["t"], record_dir=tmp_path / "rec", tls_cert=tmp_path / "c.pem",
                        tls_key=tmp_path / "k.pem", decode_on_exit=False) as peer:
        assert peer.url.startswith("https://127.0.0.1:")
        client = WhipClient(peer.url, "t", ScriptedProbeTrack(MOUTH_SEED), ssl=trust)
        await client.connect()
        assert await client.close() == 200
