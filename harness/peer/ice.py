"""The one place that chooses which host addresses aioice gathers ICE candidates on.

aioice (0.13, under aiortc 1.16) has no option for this: ``Connection.gather_candidates`` calls the
module-level ``aioice.ice.get_host_addresses``, which enumerates the interfaces and always skips
``127.0.0.1``/``::1``. A lab peer must offer exactly the addresses the phone can reach (and CI
keeps every packet on loopback), so we replace that function once, process-wide, with one that
answers from a context variable and otherwise falls back to aioice's own. Candidates are
gathered inside ``setLocalDescription`` in the caller's task, so ``with host_addresses([...]):``
around it scopes the choice to one peer connection without touching any other aiortc user in the
process (e.g. the virtual phone's own client).
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Iterator, Sequence

import aioice.ice

from harness.errors import UsageError

_chosen: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "harness_ice_hosts", default=None)
_original = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _chosen.get()
    if chosen is None:
        return _original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def install() -> None:
    """Route aioice's host-address lookup through :func:`host_addresses` (idempotent)."""
    if aioice.ice.get_host_addresses is not _get_host_addresses:
        aioice.ice.get_host_addresses = _get_host_addresses


def validate(addresses: Sequence[str]) -> tuple[str, ...]:
    """Literal IP addresses only: a name here would be a silent 'no candidates'."""
    out = []
    for a in addresses:
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            raise UsageError(f"--ice-host {a!r}: not an IP address (give a literal IPv4/IPv6 address)") \
                from None
        if ip.is_unspecified:
            raise UsageError(f"--ice-host {a}: the unspecified address cannot be a candidate; "
                             "name an interface address")
        out.append(str(ip))
    return tuple(out)


@contextlib.contextmanager
def host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Within this block (this task and what it awaits), gather candidates only on ``addresses``.

    ``None`` keeps aioice's default (every interface address except loopback).
    """
    install()
    token = _chosen.set(None if addresses is None else validate(addresses))
    try:
        yield
    finally:
        _chosen.reset(token)


def validate_servers(urls: Sequence[str]) -> list[str]:
    """``--ice-server`` URLs the peer can use, checked at start: a malformed one would otherwise turn
    every offer into a 400 "rejected by the WebRTC stack", blaming the app for the lab's setting.

    aiortc 1.16 (``rtcicetransport.connection_kwargs``) uses one ``stun:`` server and TURN only with
    a username and credential, which this peer has no option for; ``stuns:`` it ignores.
    """
    from aiortc.rtcicetransport import parse_stun_turn_uri

    out = []
    for url in urls:
        try:
            parsed = parse_stun_turn_uri(url)
        except ValueError as exc:
            raise UsageError(f"--ice-server {url!r}: {exc}; e.g. stun:stun.example.org:3478") from None
        if parsed["scheme"] != "stun":
            raise UsageError(f"--ice-server {url!r}: only stun: servers are supported (TURN needs "
                             "credentials this peer cannot pass; aiortc ignores stuns:)")
        out.append(url)
    return out


def default_hosts(bind_host: str, configured: Sequence[str] = ()) -> tuple[str, ...] | None:
    """``--ice-host`` values if given, else the bind address unless it is a wildcard (then aioice's)."""
    if configured:
        return validate(configured)
    if bind_host in ("", "0.0.0.0", "::"):
        return None
    return validate([bind_host])


RFC7675_CONSENT_S = 30.0
"""RFC 7675: consent expires 30 s after the last answered check (aioice: 6 checks, 5 s apart)."""


def set_consent_timeout(seconds: float) -> None:
    """How long the lab peer keeps a connection whose other end stopped answering consent checks.

    aioice (0.13) reads two module constants, ``CONSENT_INTERVAL`` (5 s) and ``CONSENT_FAILURES`` (6),
    and has no per-connection option, so this sets the interval process-wide: the lab peer's process
    only (the phone's app runs in its own process, on a real phone on its own stack). A lab shortens
    it to keep a "longer than ICE consent" scenario short; the default is RFC 7675's 30 s.
    """
    if not 2.0 <= seconds <= 300.0:
        raise UsageError(f"peer consent_timeout_s must be within 2..300 s (got {seconds})")
    aioice.ice.CONSENT_INTERVAL = seconds / aioice.ice.CONSENT_FAILURES  # type: ignore[assignment]  # a float works


def consent_timeout() -> float:
    """The longest a silent connection survives: checks are 0.8-1.2 x the interval apart."""
    return aioice.ice.CONSENT_INTERVAL * aioice.ice.CONSENT_FAILURES * 1.2
