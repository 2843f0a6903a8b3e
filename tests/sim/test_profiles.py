"""The phone profiles and the variant table as data: every element and line carries its provenance,
every variant value names its evidence, and a malformed file is refused with the file and the fix."""

from __future__ import annotations

import re

import pytest

from harness.errors import UsageError
from harness.sim import profiles, variants, versions
from harness.sim.phone import VirtualPhone
from harness.sim.scene.ios_log import IosLog

MAJORS = profiles.majors()


def test_one_profile_per_modelled_major() -> None:
    assert MAJORS == (16, 17, 18, 26, 27)
    assert versions.modelled() == MAJORS
    assert [profiles.load(m).version for m in MAJORS] == ["16.7.10", "17.5.1", "18.2", "26.1", "27.0"]
    assert versions.full_version("18") == "18.2" and versions.full_version("17.4") == "17.4"
    with pytest.raises(ValueError, match="not modelled; choose one of 16, 17, 18, 26, 27"):
        versions.full_version("15")
    with pytest.raises(profiles.ProfileError, match=r"ios15.yaml extending the nearest one"):
        profiles.load(15)


@pytest.mark.parametrize("major", MAJORS)
def test_every_element_and_line_carries_a_checked_provenance(major: int) -> None:
    p = profiles.load(major)
    for screen in p.screens.values():
        profiles.check_provenance(screen.provenance, screen.name)
        for node in (n for _, n in [(screen.name, x) for x in profiles._walk(screen.tree)]):
            if "provenance" in node:
                profiles.check_provenance(node["provenance"], f"{screen.name}/{node.get('key')}")
    for fmt in p.interruption_formats.values():
        assert fmt.provenance
        profiles.check_provenance(fmt.provenance, fmt.name)
    assert p.audio_daemon["process"] == ("mediaserverd" if major < 17 else "audiomxd")
    assert p.developer_services and all(s.startswith("com.apple.") for s in p.developer_services)


def test_a_provenance_names_a_source_or_says_unverified() -> None:
    assert profiles.check_provenance("signvios (id)", "x") == "signvios (id)"
    assert profiles.check_provenance("unverified: nobody looked", "x")
    with pytest.raises(profiles.ProfileError, match="x: provenance 'my memory' starts with neither"):
        profiles.check_provenance("my memory", "x")
    with pytest.raises(profiles.ProfileError, match="a provenance is required"):
        profiles.check_provenance("", "x")
    assert profiles.cited("signvios (id); incall-ax-18 (label)") == ["signvios", "incall-ax-18"]


def test_the_incoming_call_follows_the_public_evidence_per_version() -> None:
    """iOS < 18: SpringBoard's Accept; iOS >= 18: InCallService acceptCall (REV Q1.1)."""
    for major in MAJORS:
        p = profiles.load(major)
        accept = [
            n for n in profiles._walk(p.screen("incoming.full").tree) if n.get("key") == "incoming.accept"
        ]
        assert [n.get("id", "") for n in accept] == (["acceptCall"] if major >= 18 else [""])
        owner = p.screen("incoming.banner").owner
        assert owner == ("com.apple.InCallService" if major >= 18 else "com.apple.springboard")
        assert "signvios" in profiles.cited(accept[0]["provenance"])


def test_every_variant_value_names_its_evidence_and_the_default_is_not_the_harness_invention() -> None:
    table = variants.catalog()
    assert {
        "dial_prompt",
        "incoming_call",
        "second_accept",
        "timer_ending",
        "siri_ui",
        "audio_daemon_line",
        "live_voicemail",
        "log_volume",
        "wda_latency",
        "wda_session",
        "passcode",
        "offscreen_cells",
        "tap_outside_window",
        "phone_network",
        "reset_confirmation",
    } <= set(table)
    for v in table.values():
        assert v.default in v.values and v.field in v.values
        for value in v.values.values():
            assert value.evidence, (v.name, value.name)
    line = table["audio_daemon_line"]
    assert line.default != "harness" and line.field != "harness"
    assert line.values["harness"].evidence == (
        "invented by the harness (unverified): harness.ios INTERRUPTION_LOG_PATTERN, RIP H8",
    )
    assert all(profiles.load(m).defaults.get("audio_daemon_line", line.default) != "harness" for m in MAJORS)


def test_variant_choices_parse_presets_and_refuse_bad_input() -> None:
    field = variants.parse(["field"])
    assert field == {name: v.field for name, v in variants.catalog().items()}
    assert variants.parse(["field", "dial_prompt=shown"])["dial_prompt"] == "shown"  # later wins
    with pytest.raises(UsageError, match="no variant 'dial'"):
        variants.parse(["dial=none"])
    with pytest.raises(UsageError, match="'maybe' is not a value of dial_prompt; values: shown, none"):
        variants.parse(["dial_prompt=maybe"])
    with pytest.raises(UsageError, match="--sim-variant 'dial_prompt': use NAME=VALUE"):
        variants.parse(["dial_prompt"], "--sim-variant")
    resolved = variants.resolve({"timer_ending": "banner"}, {"siri_ui": "siri-view-service"})
    assert (resolved["timer_ending"], resolved["siri_ui"], resolved["dial_prompt"]) == (
        "banner",
        "siri-view-service",
        "shown",
    )


def test_the_table_lists_every_variant_value_with_its_evidence() -> None:
    text = variants.render_table()
    for v in variants.catalog().values():
        assert f"{v.name}: " in text
        for value in v.values.values():
            assert re.search(rf"^  {re.escape(value.name)}\s", text, re.M), (v.name, value.name)
    assert "signvios: Production XCUITest CallKit code" in text  # the evidence keys are explained


# -- the audio daemon's line ---------------------------------------------------------------------

REAL_CLIENT = "sid:0x6f879, MobileJarvisNati(9964), 'prim'"
"""A client as audiomxd names it on a real iPhone (REV Q3.1, an iOS device log excerpt)."""
CLIENT = re.compile(r"sid:0x[0-9a-f]+, (?P<name>.{1,16})\((?P<pid>\d+)\), 'prim'")


@pytest.mark.parametrize("fmt", ["cmsession", "mxcoresession", "sid-only", "harness", "absent"])
def test_the_audio_daemon_writes_the_chosen_format(fmt: str) -> None:
    phone = VirtualPhone(ios_version="18.2", variants={"audio_daemon_line": fmt})
    log = IosLog(phone)
    began = log.interruption(
        "com.hightowerai.MobileJarvisNative",
        9964,
        "MobileJarvisNative",
        {"AVAudioSessionInterruptionTypeKey": 1},
    )
    ended = log.interruption(
        "com.hightowerai.MobileJarvisNative",
        9964,
        "MobileJarvisNative",
        {"AVAudioSessionInterruptionTypeKey": 0, "AVAudioSessionInterruptionOptionKey": 1},
    )
    written = [(r.process.name, r.message) for r in phone.log_history]
    if fmt == "absent":
        assert began is None and ended is None and written == [] and log.lab_pattern() is None
        return
    assert written == [("audiomxd", began), ("audiomxd", ended)]
    if fmt != "harness":  # the real naming: 16-character process name and pid, as in REAL_CLIENT
        assert CLIENT.search(REAL_CLIENT).group("name") == "MobileJarvisNati"
        m = CLIENT.search(str(began))
        assert m is not None and (m.group("name"), m.group("pid")) == ("MobileJarvisNati", "9964")
    pattern = log.lab_pattern()
    if fmt == "sid-only":  # no bundle id on the line: the lab's pattern names the client by process and pid
        assert "com.hightowerai" not in str(ended)
    # the lab file the virtual lab writes reads its own lines back (consistency of the sim, not a
    # proof of the real format: no public line shows shouldResume, REV Q3)
    assert pattern is not None and pattern[0] == "audiomxd"
    b, e = re.search(pattern[1], str(began)), re.search(pattern[1], str(ended))
    assert b and e and (b.group("type"), e.group("type"), e.group("should_resume")) == ("began", "ended", "1")
    named = {k: v for k, v in b.groupdict().items() if k in ("bundle", "pid", "process") and v}
    assert named in ({"bundle": "com.hightowerai.MobileJarvisNative"},
                     {"bundle": "com.hightowerai.MobileJarvisNative", "pid": "9964"},
                     {"process": "MobileJarvisNati", "pid": "9964"}), named


def test_ios_16_logs_as_mediaserverd() -> None:
    phone = VirtualPhone(ios_version="16.7.10")
    IosLog(phone).interruption("com.x", 5, "X", {"AVAudioSessionInterruptionTypeKey": 1})
    assert [r.process.name for r in phone.log_history] == ["mediaserverd"]
    assert IosLog(phone).lab_pattern()[0] == "mediaserverd"  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "idle", "call", "siri"),
    [("quiet", 0, 0, 0), ("typical", 1000, 3000, 4000), ("heavy", 3000, 8000, 8000)],
)
def test_log_volume_rates(value: str, idle: int, call: int, siri: int) -> None:
    phone = VirtualPhone(variants={"log_volume": value})
    assert phone.log_rate() == idle
    phone.log_activity.add("call")
    assert phone.log_rate() == call
    phone.log_activity.add("siri")
    assert phone.log_rate() == max(call, siri)
