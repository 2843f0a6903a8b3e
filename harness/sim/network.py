"""The virtual phone's network, as a real phone sees the lab host (the ``phone_network`` variant).

A real iPhone reaches the lab host only on an address of the host's LAN: ``0.0.0.0`` / ``::`` lead
nowhere, and its ``127.0.0.1`` is the phone itself (RIP H3). The virtual phone's apps run on the
lab host, where a wildcard or loopback address would connect anyway; :func:`refusal` is the check
the virtual app makes before it connects, so a URL a phone could not use fails as it would on a
phone (the connection is refused):

* ``host-loopback`` (default): wildcards are refused; the host's loopback is allowed (the virtual
  phone shares the lab host's loopback, a convenience of the virtual lab);
* ``lan-only``: wildcards and loopback (127.0.0.0/8, ::1, localhost) are refused; the host is
  reached on its LAN address (:func:`lan_address`), which the phone's WDA reports as ``ios.ip``.

Network namespaces would make this a property of the kernel instead of a check; the check is
enough to test the harness's choice of an advertised address, and says so in its error.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from urllib.parse import urlsplit

HOST_LOOPBACK, LAN_ONLY = "host-loopback", "lan-only"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refusal(url: str, policy: str) -> str | None:
    """Why a phone on ``policy`` cannot reach ``url``'s host (None: it can)."""
    host = urlsplit(url).hostname or ""
    ip = _address(host)
    if host in ("", "*") or (ip is not None and ip.is_unspecified):
        return (
            f"{host or 'no host'} is a wildcard address: it names no host a phone can connect to "
            "(the lab must hand the app a routable address of the lab host)"
        )
    if policy == LAN_ONLY and (host == "localhost" or (ip is not None and ip.is_loopback)):
        return (
            f"{host} is the phone's own loopback: a phone on the lab's network reaches the lab host "
            "only on a LAN address (virtual lab: phone_network=lan-only)"
        )
    return None


def lan_address() -> str | None:
    """This machine's first IPv4 address that is neither loopback nor link-local (e.g. eth0's)."""
    import ifaddr  # aioice's dependency: an interface list without root or netifaces

    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                a = ipaddress.ip_address(ip.ip)
                if not (a.is_loopback or a.is_link_local or a.is_unspecified):
                    return str(a)
    return None


def local_address_for(host: str) -> str:
    """The address this machine would send from to reach ``host`` (no packet is sent)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with contextlib.closing(socket.socket(family, socket.SOCK_DGRAM)) as s:
        s.connect((host.strip("[]"), 9))
        return str(s.getsockname()[0])
