"""Opening a lockdown session to a phone, with deadlines.

pymobiledevice3's ``create_using_usbmux`` has no deadline of its own (a hung phone blocks it
forever) and waits for the trust dialog for ``pair_timeout`` seconds, polling once a second. The
harness bounds both: ``Timeouts.trust`` for a human to tap Trust, ``Timeouts.connect`` for the
rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.device.errors import NOT_PAIRED, DeviceFault, device_errors

if TYPE_CHECKING:
    from pymobiledevice3.lockdown import LockdownClient


@dataclass(frozen=True)
class Timeouts:
    """Deadlines (seconds) for each kind of device operation."""

    connect: float = 15.0
    trust: float = 0.0
    """How long to wait for someone to tap Trust when the phone is not paired (0: fail at once)."""
    query: float = 10.0
    install: float = 300.0
    stream_open: float = 10.0
    screenshot: float = 20.0
    wda: float = 60.0
    port_connect: float = 5.0


DEFAULT_TIMEOUTS = Timeouts()


async def connect(udid: str, timeouts: Timeouts = DEFAULT_TIMEOUTS, *, pair: bool = True) -> LockdownClient:
    """A paired lockdown session to ``udid`` over usbmuxd.

    With ``pair`` the host pairs when it has no valid pair record (the phone shows its trust
    dialog; see ``Timeouts.trust``). Without it an unpaired phone raises DeviceFault(not-paired);
    use :func:`connect_unpaired` to read the values an unpaired phone still gives.
    """
    client = await _open(udid, timeouts, autopair=pair)
    if not client.paired:
        await client.close()
        raise DeviceFault(f"phone {udid}: this host is not paired with it; fix: pair it: "
                          f"`pymobiledevice3 lockdown pair --udid {udid}`, then tap Trust on the phone",
                          NOT_PAIRED, udid)
    return client


async def connect_unpaired(udid: str, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> LockdownClient:
    """A lockdown connection that never pairs: paired if a record exists, else only the public values."""
    return await _open(udid, timeouts, autopair=False)


async def _open(udid: str, timeouts: Timeouts, *, autopair: bool) -> LockdownClient:
    from pymobiledevice3.lockdown import create_using_usbmux

    # pymobiledevice3 polls the trust dialog once a second; leave room for its last poll.
    deadline = timeouts.connect + (timeouts.trust + 2.0 if autopair and timeouts.trust else 0.0)
    async with device_errors("open a lockdown session", udid, deadline):
        return await create_using_usbmux(serial=udid, autopair=autopair, pair_timeout=timeouts.trust)
