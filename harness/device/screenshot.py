"""A screenshot of the phone, by the first route that works on it.

1. WDA's ``GET /screenshot`` over usbmux port 8100: no developer disk image needed, every iOS
   version, and lab phones keep WDA up anyway.
2. screenshotr (``com.apple.mobile.screenshotr``): iOS < 17 with the developer disk image.
3. DVT ``Screenshot`` (real phones only): needs the DDI, and on iOS 17+ an RSD tunnel, which
   the caller passes as ``rsd``.
The PNG bytes come back with the route that produced them.
"""

from __future__ import annotations

from typing import Any

from harness import ios
from harness.device.errors import DeviceFault, device_errors

WDA_PORT = 8100


async def screenshot(lockdown: Any, udid: str, *, timeout: float = 20.0, rsd: Any = None,
                     wda_port: int = WDA_PORT) -> tuple[bytes, str]:
    """(image bytes, route). DeviceFault naming every route's failure when none works."""
    from pymobiledevice3.services.wda import WdaServiceClient

    failures: list[str] = []
    faults: list[DeviceFault] = []
    try:
        async with device_errors("take a screenshot through WDA", udid, timeout):
            return await WdaServiceClient(service_provider=lockdown, port=wda_port).get_screenshot(), "wda"
    except DeviceFault as exc:
        failures.append(f"WDA: {exc}")
        faults.append(exc)
    version = str(lockdown.product_version)
    if ios.major(version) < 17:
        from pymobiledevice3.services.screenshot import ScreenshotService

        try:
            async with (device_errors("take a screenshot through screenshotr", udid, timeout,
                                      service=ScreenshotService.SERVICE_NAME, ios_version=version),
                        ScreenshotService(lockdown) as service):
                return await service.take_screenshot(), "screenshotr"
        except DeviceFault as exc:
            failures.append(f"screenshotr: {exc}")
            faults.append(exc)
    provider = rsd if rsd is not None else (lockdown if ios.major(version) < 17 else None)
    if provider is not None:
        from pymobiledevice3.services.dvt.instruments.dvt_provider import DvtProvider
        from pymobiledevice3.services.dvt.instruments.screenshot import Screenshot

        try:
            async with (device_errors("take a screenshot through DVT", udid, timeout,
                                      service=DvtProvider.SERVICE_NAME, ios_version=version),
                        DvtProvider(provider) as dvt, Screenshot(dvt) as shot):
                return await shot.get_screenshot(), "dvt"
        except DeviceFault as exc:
            failures.append(f"DVT: {exc}")
            faults.append(exc)
    else:
        failures.append(f"DVT: iOS {version} needs an RSD tunnel (none given)")
    tag = _decisive_tag(faults)
    raise DeviceFault(f"phone {udid}: no screenshot route worked: " + " | ".join(failures), tag, udid)


def _decisive_tag(faults: list[DeviceFault]) -> str:
    """A gone, locked or unpaired phone explains every route's failure; otherwise the first route's."""
    from harness.device import errors

    tags = [f.tag for f in faults]
    for tag in (errors.DEVICE_GONE, errors.PASSCODE_LOCKED, errors.NOT_PAIRED):
        if tag in tags:
            return tag
    return tags[0] if tags else errors.WDA_DOWN
