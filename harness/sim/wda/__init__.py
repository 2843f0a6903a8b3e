"""The virtual WebDriverAgent: WDA's HTTP API over a phone's SpringBoard (see reference/wda.md).

As a lab extension, :func:`install_lab` gives every phone of a ``VirtualLab`` a SpringBoard on the
lab's carrier and a WDA on device port 8100 (see :mod:`harness.sim.wda.lab`).
"""

from harness.sim.wda.apphost import AppHost, InMemoryAppHost
from harness.sim.wda.attach import attach_wda, springboard_for
from harness.sim.wda.errors import WdaError
from harness.sim.wda.lab import WdaLab, install_lab
from harness.sim.wda.server import WdaServer

__all__ = [
    "AppHost",
    "InMemoryAppHost",
    "WdaError",
    "WdaLab",
    "WdaServer",
    "attach_wda",
    "install_lab",
    "springboard_for",
]
