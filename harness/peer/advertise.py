"""The WHIP URL the app is handed: an address of this host that the phone can reach.

The peer may bind a wildcard (``0.0.0.0:8443``: ICE gathers on every interface), but the app
cannot dial a wildcard, and a real phone cannot reach this host's loopback. So the URL is:

1. built from ``peer.advertise`` when the lab gives one (a host, ``HOST:PORT`` or a URL);
2. else, for a wildcard bind, this host's address on the route to the phone. WebDriverAgent's
   ``GET /status`` reports the phone's Wi-Fi address as ``value.ios.ip``
   (``@"ip": [XCUIDevice sharedDevice].fb_wifiIPAddress ?: [NSNull null]``, WebDriverAgent
   ``FBSessionCommands.m`` handleGetStatus); a UDP socket "connected" to it (no packet is sent)
   reads the source address the kernel would use (``getsockname``);
3. else the bind address itself.

A real phone is never handed a wildcard or loopback URL: that is refused with a UsageError naming
the fix, before any test runs. On the virtual lab the phones run on this host, so loopback is
allowed there (and a wildcard bind advertises a real address of the host: the route to the
phone's reported address, which the virtual WDA gives as 127.0.0.1).

Real phone vs virtual lab: a real WDA reports the phone's Wi-Fi address (or null when the phone
has no Wi-Fi address: then the lab must set ``peer.advertise``); the virtual WDA reports
127.0.0.1. The refusals are tested here; the real route is exercised by a lab whose phone reports
a LAN address (tests/peer/test_advertise.py routes to a non-loopback address of the test host).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.errors import UsageError

WHIP_PATH = "/whip"
WILDCARDS = frozenset({"", "*", "0.0.0.0", "::", "[::]"})
FIX = ("set peer.advertise in the lab file to this host's address on the phone's network "
       "(e.g. advertise: 192.168.1.20), or bind the peer to that address")


@dataclass(frozen=True)
class Advertise:
    """``peer.advertise`` parsed: a scheme and path only when it was a URL, a port only when given."""

    host: str
    port: int | None = None
    scheme: str | None = None
    path: str | None = None


def parse_advertise(text: str) -> Advertise:
    """``192.168.1.20``, ``lab.example:8443``, ``[fd00::2]:8443`` or ``https://lab.example:8443/whip``.

    ValueError (with the accepted forms) otherwise.
    """
    forms = "a host (192.168.1.20), HOST:PORT or a URL (https://lab.example:8443/whip)"
    value = str(text).strip()
    if not value:
        raise ValueError(f"empty; give {forms}")
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{text!r} is not an http(s) URL with a host; give {forms}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{text!r} has a bad port; give {forms}") from None
        return Advertise(parts.hostname, port, parts.scheme, parts.path or None)
    host, port_text = value, None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r} is not [IPv6]:PORT; give {forms}")
            port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    if port_text is not None and (not port_text.isdigit() or not 0 < int(port_text) <= 65535):
        raise ValueError(f"{text!r} has a bad port; give {forms}")
    if not host or "/" in host or " " in host:
        raise ValueError(f"{text!r} is not a host; give {forms}")
    return Advertise(host, int(port_text) if port_text else None)


def is_wildcard(host: str) -> bool:
    return host.strip() in WILDCARDS


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, or a name that resolves only to loopback (``localhost``)."""
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        pass
    if h.lower() == "localhost" or h.lower().endswith(".localhost"):
        return True
    try:
        infos = socket.getaddrinfo(h, None)
    except OSError:
        return False  # an unresolvable name is the lab's to fix; not loopback
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def route_source(phone_ip: str) -> str:
    """This host's address on the route to ``phone_ip`` (no packet is sent); OSError if none."""
    family = socket.AF_INET6 if ":" in phone_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((phone_ip, 9))  # UDP connect only picks the route and the source address
        return str(s.getsockname()[0]).split("%")[0]


def phone_ip_from_status(status: dict[str, Any] | None) -> str | None:
    """The phone's Wi-Fi address from WDA's ``/status`` value (``ios.ip``; null without Wi-Fi)."""
    ios = (status or {}).get("ios")
    ip = ios.get("ip") if isinstance(ios, dict) else None
    if not isinstance(ip, str) or not ip.strip():
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def _url(scheme: str, host: str, port: int, path: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{path}"


def whip_url(bind: str, port: int, *, advertise: str | None, phone_ip: str | None, virtual: bool,
             tls: bool = False, phone: str = "the phone") -> str:
    """The URL to hand the app, for a peer bound to ``bind`` (``HOST:PORT``) that listens on ``port``.

    ``phone_ip``: the phone's address as WDA reports it (:func:`phone_ip_from_status`), or None.
    ``virtual``: the lab is the virtual lab (loopback allowed). UsageError when no reachable URL
    can be given to a real phone.
    """
    bind_host = bind.rpartition(":")[0].strip("[]") if ":" in bind else bind
    scheme = "https" if tls else "http"
    if advertise is not None:
        try:
            a = parse_advertise(advertise)
        except ValueError as exc:
            raise UsageError(f"peer.advertise: {exc}") from None
        if is_wildcard(a.host):
            raise UsageError(f"peer.advertise {advertise!r} is a wildcard address, which no phone can "
                             f"call; {FIX}")
        if not virtual and is_loopback(a.host):
            raise UsageError(f"peer.advertise {advertise!r} is this host's loopback, which {phone} cannot "
                             f"reach; {FIX}")
        return _url(a.scheme or scheme, a.host, a.port or port, a.path or WHIP_PATH)
    if is_wildcard(bind_host):
        if phone_ip is None:
            if virtual:  # the virtual phones share this host's loopback
                return _url(scheme, "::1" if ":" in bind_host else "127.0.0.1", port, WHIP_PATH)
            raise UsageError(f"peer.bind {bind} is a wildcard and {phone} reported no Wi-Fi address "
                             f"(WebDriverAgent /status value.ios.ip is null), so the harness cannot tell "
                             f"which of this host's addresses it reaches; {FIX}")
        try:
            host = route_source(phone_ip)
        except OSError as exc:
            raise UsageError(f"peer.bind {bind} is a wildcard and this host has no route to {phone} at "
                             f"{phone_ip} ({exc.strerror or exc}); {FIX}") from None
        if is_loopback(host) and not virtual:
            raise UsageError(f"{phone} reports address {phone_ip}, reached through this host's loopback; "
                             f"{FIX}")
        return _url(scheme, host, port, WHIP_PATH)
    if not virtual and is_loopback(bind_host):
        raise UsageError(f"peer.bind {bind} is this host's loopback, which {phone} cannot reach: bind "
                         f"0.0.0.0:{port} (the harness then advertises its address on the route to the "
                         f"phone), or {FIX}")
    return _url(scheme, bind_host, port, WHIP_PATH)


def check_lab_peer(bind: str, advertise: str | None, *, virtual: bool) -> None:
    """Before any test: UsageError when the lab's peer would hand a real phone a wildcard or loopback
    URL whatever the phone reports (a loopback bind or advertise, a wildcard advertise). A wildcard
    bind without ``advertise`` is decided per phone, from its Wi-Fi address, when the app launches."""
    bind_host = bind.rpartition(":")[0].strip("[]") if ":" in bind else bind
    if virtual or (advertise is None and is_wildcard(bind_host)):
        return
    port = bind.rpartition(":")[2]
    whip_url(bind, int(port) if port.isdigit() else 0, advertise=advertise, phone_ip=None, virtual=False)
