"""The WHIP URL handed to the app: reachable by the phone, never a wildcard, loopback only on the virtual lab.

The route to the phone is this host's real routing table (a UDP connect, no packet sent): the
"phone" is a neighbour address on the test host's own LAN, as a lab phone on Wi-Fi is.
"""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
import psutil
import pytest
from aiohttp import web

from harness.errors import UsageError
from harness.lab.schema import Lab
from harness.peer.advertise import parse_advertise, phone_ip_from_status, route_source, whip_url


def lan() -> tuple[str, str]:
    """(this host's non-loopback IPv4 address, a neighbour address on the same network)."""
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family != socket.AF_INET or not a.netmask:
                continue
            ip = ipaddress.ip_address(a.address)
            if ip.is_loopback or ip.is_link_local:
                continue
            net = ipaddress.ip_network(f"{a.address}/{a.netmask}", strict=False)
            neighbour = next(h for h in net.hosts() if h != ip)
            return str(ip), str(neighbour)
    pytest.fail("the test host has no non-loopback IPv4 address: the route-to-the-phone rule "
                "cannot be checked")


def test_a_wildcard_bind_advertises_the_hosts_address_on_the_route_to_the_phone() -> None:
    host_ip, phone_ip = lan()
    assert route_source(phone_ip) == host_ip
    url = whip_url("0.0.0.0:8443", 8443, advertise=None, phone_ip=phone_ip, virtual=False)
    assert url == f"http://{host_ip}:8443/whip"
    assert whip_url("0.0.0.0:0", 40123, advertise=None, phone_ip=phone_ip, virtual=False,
                    tls=True) == f"https://{host_ip}:40123/whip"


async def test_the_advertised_url_reaches_a_server_bound_to_the_wildcard() -> None:
    host_ip, phone_ip = lan()

    async def whip(request: web.Request) -> web.Response:
        return web.Response(text="peer")

    app = web.Application()
    app.router.add_get("/whip", whip)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        url = whip_url(f"0.0.0.0:{port}", port, advertise=None, phone_ip=phone_ip, virtual=False)
        assert url == f"http://{host_ip}:{port}/whip"
        async with aiohttp.ClientSession() as s, s.get(url) as r:
            assert await r.text() == "peer"
    finally:
        await runner.cleanup()


def test_a_real_phone_is_never_handed_a_wildcard_or_loopback_url() -> None:
    _, phone_ip = lan()
    cases = [
        ("127.0.0.1:8443", None, phone_ip, ["peer.bind 127.0.0.1:8443", "loopback", "0.0.0.0:8443",
                                             "peer.advertise"]),
        ("localhost:8443", None, phone_ip, ["loopback", "peer.advertise"]),
        ("0.0.0.0:8443", None, None, ["wildcard", "value.ios.ip", "peer.advertise"]),
        ("0.0.0.0:8443", "127.0.0.1", phone_ip, ["peer.advertise '127.0.0.1'", "loopback"]),
        ("0.0.0.0:8443", "http://localhost:9/whip", phone_ip, ["loopback"]),
        ("0.0.0.0:8443", "0.0.0.0", phone_ip, ["wildcard", "peer.advertise"]),
        ("0.0.0.0:8443", None, "127.0.0.1", ["loopback", "peer.advertise"]),
    ]
    for bind, advertise, ip, words in cases:
        with pytest.raises(UsageError) as info:
            whip_url(bind, 8443, advertise=advertise, phone_ip=ip, virtual=False, phone="iPhone A")
        for w in words:
            assert w in str(info.value), (bind, advertise, ip, w, str(info.value))


def test_the_virtual_lab_may_use_loopback_but_never_a_wildcard() -> None:
    assert whip_url("127.0.0.1:5000", 5000, advertise=None, phone_ip="127.0.0.1",
                    virtual=True) == "http://127.0.0.1:5000/whip"
    # the virtual WDA reports 127.0.0.1: the route to it is this host's loopback
    assert whip_url("0.0.0.0:5000", 5000, advertise=None, phone_ip="127.0.0.1",
                    virtual=True) == "http://127.0.0.1:5000/whip"
    assert whip_url("0.0.0.0:5000", 5000, advertise=None, phone_ip=None,
                    virtual=True) == "http://127.0.0.1:5000/whip"
    assert whip_url("[::]:5000", 5000, advertise=None, phone_ip=None, virtual=True) == "http://[::1]:5000/whip"
    with pytest.raises(UsageError, match="wildcard"):
        whip_url("0.0.0.0:5000", 5000, advertise="0.0.0.0", phone_ip=None, virtual=True)


def test_an_advertised_host_url_or_port_wins() -> None:
    _, phone_ip = lan()
    kw = dict(phone_ip=phone_ip, virtual=False)
    assert whip_url("0.0.0.0:8443", 8443, advertise="192.168.1.20", **kw) == "http://192.168.1.20:8443/whip"
    assert whip_url("0.0.0.0:8443", 8443, advertise="lab.example:9443", **kw) == "http://lab.example:9443/whip"
    assert whip_url("0.0.0.0:8443", 8443, advertise="[fd00::5]", **kw) == "http://[fd00::5]:8443/whip"
    assert whip_url("0.0.0.0:8443", 8443, advertise="https://lab.example/voice/whip",
                    **kw) == "https://lab.example:8443/voice/whip"
    assert whip_url("192.168.1.20:8443", 8443, advertise=None, **kw) == "http://192.168.1.20:8443/whip"


def test_phone_ip_is_read_from_wda_status_as_real_wda_writes_it() -> None:
    # WebDriverAgent v16.7.0 FBSessionCommands.m handleGetStatus:
    #   @"ios": @{ @"ip": [XCUIDevice sharedDevice].fb_wifiIPAddress ?: [NSNull null] }
    assert phone_ip_from_status({"ready": True, "ios": {"ip": "192.168.1.37"}}) == "192.168.1.37"
    assert phone_ip_from_status({"ios": {"ip": None}}) is None  # no Wi-Fi address: JSON null
    assert phone_ip_from_status({"ios": {}}) is None
    assert phone_ip_from_status({}) is None
    assert phone_ip_from_status({"ios": {"ip": "not an address"}}) is None


def test_the_lab_file_checks_peer_advertise() -> None:
    base = {"devices": [{"name": "A", "udid": "00008120-001A2B3C4D5E6F70"}]}
    lab = Lab.from_dict({**base, "peer": {"bind": "0.0.0.0:8443", "advertise": "192.168.1.20"}})
    assert lab.peer.advertise == "192.168.1.20"
    for bad in ("ftp://x/whip", "host:99999", "a b", "http://:80"):
        with pytest.raises(UsageError) as info:
            Lab.from_dict({**base, "peer": {"advertise": bad}})
        assert "peer.advertise" in str(info.value) and "HOST:PORT" in str(info.value), str(info.value)
    assert parse_advertise("https://lab.example:8443/whip").port == 8443
