"""What a lab can do for one DUT, as the names scenarios ask for with ``@pytest.mark.requires``.

``caller`` (a second phone to dial from), ``hfp_headset`` (an accessory with HFP),
``a2dp_speaker`` (an A2DP-only accessory: a speaker without a microphone), ``capture:<route>``
(a capture of that output route), ``mouth`` (a speaker playing into the phone's microphone),
``app`` (the lab names the app under test), ``other_audio`` (the DUT has Music content that plays
offline: ``music_content: true`` in its lab entry; the virtual lab has it). A scenario whose
needs are missing is skipped with the list of what is missing, never failed.
"""

from __future__ import annotations

from harness.lab.schema import AccessorySpec, Device, Lab

KNOWN = ("caller", "hfp_headset", "a2dp_speaker", "mouth", "app", "other_audio")


def accessories_for(lab: Lab, dut: Device) -> list[AccessorySpec]:
    return [a for a in lab.accessories if a.device in (None, dut.name, dut.udid)]


def capabilities(lab: Lab, dut: Device) -> set[str]:
    caps: set[str] = set()
    if lab.role("caller"):
        caps.add("caller")
    for a in accessories_for(lab, dut):
        if "hfp" in a.profiles:
            caps.add("hfp_headset")
        if a.profiles == ["a2dp"]:
            caps.add("a2dp_speaker")
    audio = lab.audio_for(dut)
    if audio is not None:
        caps.update(f"capture:{route}" for route in audio.capture)
        if audio.mouth is not None:
            caps.add("mouth")
    if lab.app is not None:
        caps.add("app")
    if dut.music_content:
        caps.add("other_audio")
    return caps


def missing(lab: Lab, dut: Device, wanted: list[str]) -> list[str]:
    have = capabilities(lab, dut)
    return [w for w in wanted if w not in have]


def accessory_with(lab: Lab, dut: Device, profile: str, only: bool = False) -> str | None:
    """The name of the DUT's first accessory offering ``profile`` (``only``: and nothing else)."""
    for a in accessories_for(lab, dut):
        if (a.profiles == [profile]) if only else (profile in a.profiles):
            return a.name
    return None
