"""Lab accessories as plugins: one interface to power and connect a headset, a car kit, a cable.

A lab file lists them (``accessories:`` in ``lab.yaml``), each with the dotted path of its plugin
class; :func:`load_accessories` builds them. The virtual lab's plugin, :class:`VirtualAccessory`,
asks the lab's control API; a real rig's plugin drives its hardware (a USB relay for power, a
Bluetooth adapter for connect), written when that rig exists::

    accessories:
      - name: AirPods
        kind: bluetooth
        device: iPhone DUT                   # the phone it pairs with
        plugin: harness.lab.accessories:VirtualAccessory
        options: {control_url: "http://127.0.0.1:40123", uid: airpods-1}

A plugin class takes ``(spec: AccessorySpec, lab: Lab)`` and implements :class:`LabAccessory`.
Calls block until the accessory has done it (or raise LabFault tagged ``accessory``). A lab without
special hardware uses :class:`harness.lab.settings_bluetooth.SettingsBluetoothAccessory`: a paired
headset on a shelf, connected and disconnected through the phone's own Settings.
"""

from __future__ import annotations

import importlib
import json
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from typing import Any

from harness.errors import LabFault, UsageError
from harness.lab.schema import AccessorySpec, Lab

ACTIONS = ("power-on", "power-off", "connect", "disconnect")


class LabAccessory(ABC):
    """What the harness can do to an accessory, as a person in the lab would."""

    def __init__(self, spec: AccessorySpec, lab: Lab) -> None:
        self.spec = spec
        self.lab = lab

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @abstractmethod
    def power_on(self) -> None:
        """Switch it on (a headset that was on with this phone reconnects by itself)."""

    @abstractmethod
    def power_off(self) -> None:
        """Switch it off: the phone loses it (routeChange oldDeviceUnavailable)."""

    @abstractmethod
    def connect(self) -> None:
        """Connect it to its phone (as from Settings > Bluetooth or plugging the cable in)."""

    @abstractmethod
    def disconnect(self) -> None:
        """Disconnect it from its phone; it stays powered."""

    def state(self) -> str | None:
        """Its state as the lab sees it (``connected``, ``disconnected``, ``powered_off``...) if known."""
        return None

    def bind_phone(self, phone: Any) -> None:
        """The harness hands each accessory its phone's UI (:class:`harness.phone.Phone`) once that phone
        is open; a plugin that works through the phone (Settings > Bluetooth) keeps it, others ignore it."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, kind={self.kind!r})"


class VirtualAccessory(LabAccessory):
    """An accessory of the virtual lab, driven through its control API.

    Options: ``control_url`` (the lab's control API, from ``sim.json``), ``udid`` (the phone; default:
    the UDID of the spec's ``device``), ``uid`` (the accessory's id in the phone's audio world;
    default: the spec's name), ``timeout_s`` (default 10).
    """

    def __init__(self, spec: AccessorySpec, lab: Lab) -> None:
        super().__init__(spec, lab)
        opts = spec.options
        url = opts.get("control_url")
        if not url:
            raise UsageError(f"accessory {spec.name!r}: options.control_url is missing (the virtual lab's "
                             "control URL, in sim.json)")
        self.control_url = str(url).rstrip("/")
        udid = opts.get("udid")
        if udid is None:
            if spec.device is None:
                raise UsageError(f"accessory {spec.name!r}: name its phone (device: NAME or options.udid)")
            udid = lab.device(spec.device).udid
        self.udid = str(udid)
        self.uid = str(opts.get("uid") or spec.name)
        self.timeout_s = float(opts.get("timeout_s", 10))

    def power_on(self) -> None:
        self._action("power-on")

    def power_off(self) -> None:
        self._action("power-off")

    def connect(self) -> None:
        self._action("connect")

    def disconnect(self) -> None:
        self._action("disconnect")

    def state(self) -> str | None:
        for entry in self._call("GET", f"/phones/{self.udid}/accessories"):
            if entry.get("uid") == self.uid:
                return str(entry.get("state"))
        return None

    def _action(self, action: str) -> dict[str, Any]:
        uid = urllib.parse.quote(self.uid, safe="")
        return self._call("POST", f"/phones/{self.udid}/accessories/{uid}/{action}")

    def _call(self, method: str, path: str) -> Any:
        data = b"" if method == "POST" else None
        req = urllib.request.Request(self.control_url + path, method=method, data=data)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", "")
            except ValueError:
                message = exc.reason
            raise LabFault(f"accessory {self.name!r}: {method} {path} failed ({exc.code}): {message}",
                           tag="accessory") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabFault(f"accessory {self.name!r}: the virtual lab's control API at {self.control_url} "
                           f"does not answer ({exc}); is the lab up?", tag="accessory") from None


def load_plugin(path: str) -> type[LabAccessory]:
    """The class named by ``package.module:Class`` (or ``package.module.Class``)."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"accessory plugin {path!r}: cannot import {module_name!r} ({exc})") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, LabAccessory)):
        raise UsageError(f"accessory plugin {path!r}: {attr!r} in {module_name} is not a LabAccessory class")
    return cls


def load_accessories(lab: Lab) -> dict[str, LabAccessory]:
    """Every accessory of the lab file, by name, built by its plugin."""
    return {spec.name: load_plugin(spec.plugin)(spec, lab) for spec in lab.accessories}


def accessory(lab: Lab, name: str) -> LabAccessory:
    """One accessory by name; UsageError naming the known ones otherwise."""
    for spec in lab.accessories:
        if spec.name == name:
            return load_plugin(spec.plugin)(spec, lab)
    known = ", ".join(a.name for a in lab.accessories) or "none"
    raise UsageError(f"no accessory {name!r} in the lab file (accessories: {known})")
