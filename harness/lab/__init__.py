"""The one lab schema (``lab.yaml``): devices and roles, the app, audio wiring, the peer.

``Lab.load(path)`` checks a lab file and raises :class:`harness.errors.UsageError` naming each
mistake; ``Lab.dump(path)`` writes one. See :mod:`harness.lab.schema`.
"""

from harness.lab.schema import App, Audio, AudioPort, Device, Lab, Peer

__all__ = ["App", "Audio", "AudioPort", "Device", "Lab", "Peer"]
