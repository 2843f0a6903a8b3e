"""Every lab-fault tag, what it means and how a lab fixes it: one table.

A :class:`harness.errors.LabFault` (exit 3) carries one of these tags; reports, JUnit properties
and the history key on them, so they are stable. The README's "Lab faults" table is this table
(a test checks that they agree), and a test checks that every tag the code raises is here.
Fault messages name the phone and the precise fix; ``fix`` here is the general one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabFaultKind:
    tag: str
    meaning: str
    fix: str


# Tags the code refers to by name (the rest are written where they are raised, as in the table).
USBMUXD_DOWN = "usbmuxd-down"
DEVICE_GONE = "device-gone"
NOT_PAIRED = "not-paired"
TRUST_PENDING = "trust-pending"
TRUST_DENIED = "trust-denied"
PASSCODE_LOCKED = "passcode-locked"
NO_DDI = "no-developer-disk-image"
DEVELOPER_MODE_OFF = "developer-mode-off"
TUNNEL_NEEDED = "tunnel-needed"
SERVICE_REFUSED = "service-refused"
INSTALL_FAILED = "install-failed"
APP_MISSING = "app-not-installed"
DEVICE_TIMEOUT = "device-timeout"
DEVICE_ERROR = "device-error"
WDA_DOWN = "wda-down"
WDA_TIMEOUT = "wda-timeout"
WDA_ERROR = "wda-error"
APP_LAUNCH = "app-launch"
RECIPE_MISS = "recipe-miss"
WDA_ELEMENT_STATE = "wda-element-state"
WDA_NO_ELEMENT = "wda-no-element"
WDA_RUNNER_MISSING = "wda-runner-missing"

LAB_FAULTS: dict[str, LabFaultKind] = {
    k.tag: k
    for k in (
        # the phone and its connection (pymobiledevice3: harness.device.errors)
        LabFaultKind(USBMUXD_DOWN, "no usbmuxd answers at the lab's address",
                     "start usbmuxd (or `harness sim up` for the virtual lab); check lab.yaml usbmuxd:"),
        LabFaultKind(DEVICE_GONE, "the phone is not attached (unplugged, rebooting, hub reset)",
                     "check the cable and hub; `harness devices` shows it back"),
        LabFaultKind(NOT_PAIRED, "this host is not paired with the phone",
                     "`pymobiledevice3 lockdown pair --udid UDID`, then tap Trust on the phone"),
        LabFaultKind(TRUST_PENDING, "the 'Trust This Computer?' dialog was not answered",
                     "unlock the phone and tap Trust"),
        LabFaultKind(TRUST_DENIED, "the phone refused to trust this host",
                     "Settings > General > Transfer or Reset > Reset Location & Privacy, then pair again"),
        LabFaultKind(PASSCODE_LOCKED, "the phone is locked with a passcode",
                     "unlock the phone, remove its passcode (Settings > Face ID & Passcode) and set "
                     "Auto-Lock to Never"),
        LabFaultKind(NO_DDI, "no developer disk image is mounted",
                     "`pymobiledevice3 mounter auto-mount --udid UDID` (after every reboot)"),
        LabFaultKind(DEVELOPER_MODE_OFF, "Developer Mode is off",
                     "`pymobiledevice3 amfi enable-developer-mode --udid UDID` (see `harness doctor`)"),
        LabFaultKind(TUNNEL_NEEDED, "a developer service needs an RSD tunnel (iOS 17+)",
                     "`sudo pymobiledevice3 remote tunneld` (iOS 17.0-17.3)"),
        LabFaultKind(SERVICE_REFUSED, "lockdownd refused a service", "see the message; `harness doctor`"),
        LabFaultKind(INSTALL_FAILED, "installd refused the app", "see the message (signing, space, version)"),
        LabFaultKind(APP_MISSING, "the app under test is not installed on the phone",
                     "install it (lab.yaml app: ipa:) or check app: bundle_id:"),
        LabFaultKind(DEVICE_TIMEOUT, "the phone did not answer in time", "check the cable; reboot the phone"),
        LabFaultKind(DEVICE_ERROR, "an unexpected error on the phone's connection",
                     "see the message; `harness doctor`"),
        # WebDriverAgent and the phone's UI (harness.phone)
        LabFaultKind(WDA_DOWN, "WebDriverAgent does not answer", "start WDA (see `harness doctor`)"),
        LabFaultKind(WDA_TIMEOUT, "WebDriverAgent did not answer a request in time",
                     "check the phone; restart WDA"),
        LabFaultKind(WDA_ERROR, "WebDriverAgent answered an error of its own",
                     "look at the phone's screen (a system alert, a stuck screen, a sheet in front); "
                     "`harness phone dump` shows what WDA sees; restart the WDA runner if it persists"),
        LabFaultKind(WDA_ELEMENT_STATE, "WebDriverAgent cannot act on the element (invalid element state)",
                     "the screen differs from what the recipe expects: `harness phone dump` that screen, "
                     "then update the locators"),
        LabFaultKind(WDA_NO_ELEMENT, "WebDriverAgent found no such element",
                     "the screen differs from what the recipe expects: `harness phone dump` that screen, "
                     "then update the locators"),
        LabFaultKind(WDA_RUNNER_MISSING, "the WebDriverAgent runner named in wda_runner is not installed",
                     "build and sign the runner with your team, install it, set wda_runner in lab.yaml"),
        LabFaultKind(APP_LAUNCH, "WebDriverAgent could not launch an app",
                     "check the app is installed and trusted on the phone"),
        LabFaultKind(RECIPE_MISS, "a UI recipe did not find what iOS shows (its page source is saved)",
                     "compare the saved source with harness.phone.locators; add a lab locator"),
        LabFaultKind("siri-unavailable", "Siri could not be activated",
                     "turn on Siri (Settings > Siri) and WDA's UI automation"),
        LabFaultKind("bluetooth-connect", "Settings > Bluetooth did not connect the accessory",
                     "pair the accessory with the phone once by hand; check it is powered"),
        LabFaultKind("bluetooth-disconnect", "Settings > Bluetooth still offered Disconnect after a tap",
                     "check the headset in Settings > Bluetooth (the evidence files are saved)"),
        LabFaultKind("baseline", "a phone did not reach the lab's baseline before a scenario",
                     "see the message: unlock it, end calls, stop alarms"),
        LabFaultKind("accessory", "a lab accessory (headset, speaker) did not do what was asked",
                     "check its plugin and power"),
        LabFaultKind("lab-config", "the lab file lacks something a scenario needs",
                     "add it to lab.yaml (the message names it)"),
        LabFaultKind("system-log", "iOS's log showed no interruption line for the lab's verified pattern",
                     "check lab.yaml system_log: for this iOS version (`harness phone survey`)"),
        LabFaultKind("call-held", "iOS kept a declined call (Live Voicemail answered it), so the app "
                     "could not resume", "turn Live Voicemail off on the DUT (`harness doctor` lists it)"),
        # the call's peer
        LabFaultKind("peer-unreachable", "the app did not reach the lab's WHIP peer",
                     "check the phone's network reaches the peer's address (peer: in lab.yaml)"),
        # the audio rig (harness.audio)
        LabFaultKind("capture-open", "an audio input could not be opened",
                     "check the interface and its name"),
        LabFaultKind("capture-silent", "the capture chain went silent (its reference channel too)",
                     "check the interface, cables and gain"),
        LabFaultKind("capture-dropout", "the capture chain dropped out for a moment (its reference too)",
                     "check USB bandwidth and the host's load"),
        LabFaultKind("capture-short", "a capture does not cover the stretch a verdict asked about",
                     "see the message"),
        LabFaultKind("audio-rescan", "the audio devices could not be listed again", "check the audio server"),
        LabFaultKind("player-open", "an audio output (the mouth) could not be opened",
                     "check the output device and its name"),
        LabFaultKind("player-stuck", "an audio output stopped taking audio", "check the output device"),
        LabFaultKind("player-closed", "an audio output was used after it closed", "see the message"),
        LabFaultKind("player-clock", "an audio output reports no usable clock", "check the output device"),
        LabFaultKind("pulseaudio", "PulseAudio refused a command", "see the message"),
        LabFaultKind("pulseaudio-missing", "PulseAudio's tools are not installed",
                     "install pulseaudio and pulseaudio-utils (bin/setup does)"),
        LabFaultKind("pulseaudio-start", "PulseAudio did not start", "see the message"),
        LabFaultKind("pulseaudio-down", "PulseAudio is not running", "start it (the virtual lab does)"),
        LabFaultKind("pulseaudio-hung", "a PulseAudio command hung", "restart PulseAudio"),
        # the virtual lab's own process
        LabFaultKind("sim-start", "the virtual lab did not start", "see its log in the state folder"),
        LabFaultKind("sim-stop", "the virtual lab did not stop",
                     "kill it; `harness sim down --state-dir DIR`"),
        LabFaultKind("device-log-lost", "the phone's log stream broke during a watch",
                     "check the cable; see the message"),
    )
}


def lab_fault(tag: str) -> LabFaultKind:
    """The table's entry for ``tag`` (KeyError names the known tags)."""
    try:
        return LAB_FAULTS[tag]
    except KeyError:
        raise KeyError(f"unknown lab-fault tag {tag!r}; known: {', '.join(sorted(LAB_FAULTS))}") from None


def markdown_table() -> str:
    """The table as the README shows it (a test keeps the two the same)."""
    rows = ["| tag | what happened | what to do |", "| --- | --- | --- |"]
    rows += [f"| `{k.tag}` | {k.meaning} | {k.fix} |" for k in LAB_FAULTS.values()]
    return "\n".join(rows)
