"""A Bluetooth headset on a shelf, connected and disconnected through the phone's own Settings.

No relay, no smart plug, no Bluetooth adapter on the lab host: the headset is paired with the DUT
once by hand, stays powered (on a charger), and the harness drives Settings > Bluetooth through WDA
as a tester would: tapping the headset's row connects it, its (i) page's Disconnect disconnects it
(osxdaily.com 2015-12-11 "How to Disconnect a Specific Bluetooth Device from iOS"; cultofmac.com
387278: Disconnect shows only while the device is connected). That is enough for the HFP and A2DP
scenarios: a headset disconnected from the phone's side is gone for the app as one switched off
(routeChange ``oldDeviceUnavailable``) [likely: confirm on a lab phone with the Bluetooth scenarios].
Power itself (a headset that switches off by itself mid-call) stays with plugins for a smart plug or
a USB relay (README: "Accessories: power through a plug").

Lab file::

    accessories:
      - name: AirPods Pro                # exactly as Settings > Bluetooth lists it
        kind: bluetooth
        device: iPhone DUT
        profiles: [hfp, a2dp]
        plugin: harness.lab.settings_bluetooth:SettingsBluetoothAccessory
        options: {info_label: More Info, disconnect_label: Disconnect, connected_value: Connected}

The three options are the identifiers this plugin relies on that no phone has confirmed yet
(defaults in :mod:`harness.phone.locators`); a lab whose iOS words them differently sets them here.
``timeout_s`` (default 20) bounds each step. The harness hands the plugin the DUT's UI
(:meth:`bind_phone`) when it opens the phone; ``wda_url`` (a WDA the host reaches directly, e.g. the
virtual lab's or a Mac-hosted one over Wi-Fi) lets it work on its own.
"""

from __future__ import annotations

from typing import Any

from harness.errors import LabFault
from harness.lab.accessories import LabAccessory
from harness.lab.schema import AccessorySpec, Lab


class SettingsBluetoothAccessory(LabAccessory):
    """A paired, powered headset the phone connects and disconnects in Settings > Bluetooth."""

    def __init__(self, spec: AccessorySpec, lab: Lab) -> None:
        from harness.phone import locators as L

        super().__init__(spec, lab)
        opts = spec.options
        self.info_label = str(opts.get("info_label", L.BT_INFO_LABEL))
        self.disconnect_label = str(opts.get("disconnect_label", L.BT_DISCONNECT_LABEL))
        self.connected_value = str(opts.get("connected_value", L.BT_CONNECTED_VALUE))
        self.timeout_s = float(opts.get("timeout_s", 20))
        self.wda_url = opts.get("wda_url")
        self._phone: Any = None

    def bind_phone(self, phone: Any) -> None:
        self._phone = phone

    @property
    def phone(self) -> Any:
        if self._phone is None:
            if not self.wda_url:
                raise LabFault(f"accessory {self.name!r}: no phone to drive Settings on (the harness binds "
                               "the DUT's; outside a run set options.wda_url)", tag="accessory")
            from harness.phone import Phone

            self._phone = Phone(str(self.wda_url), name=f"{self.name} (Settings)")
        return self._phone

    def power_on(self) -> None:
        """Nothing to switch: the headset stays powered on its shelf (connect() brings it to the phone)."""

    def power_off(self) -> None:
        """The phone loses the headset: disconnected from Settings, as far as the app can tell the same
        as the headset switching off (routeChange oldDeviceUnavailable)."""
        self.disconnect()

    def connect(self) -> None:
        self.phone.connect_bluetooth(self.name, timeout=self.timeout_s, connected_value=self.connected_value)

    def disconnect(self) -> None:
        self.phone.disconnect_bluetooth(self.name, timeout=self.timeout_s, info_label=self.info_label,
                                        disconnect_label=self.disconnect_label,
                                        connected_value=self.connected_value)

    def state(self) -> str | None:
        value = self.phone.bluetooth_state(self.name, timeout=self.timeout_s)
        return "connected" if value == self.connected_value else "disconnected"
