"""The survey's parts without a lab: page sources read as WDA writes them, locators evaluated offline
with facebook-wda's own query building, the privacy scrubber, the raw device log's slices and the
suggested system_log pattern (against lines real phones wrote), and the profile writer's decisions."""

from __future__ import annotations

import datetime
import re

import pytest
from pymobiledevice3.services.os_trace import SyslogEntry, SyslogLabel, SyslogLogLevel

from harness.device.os_trace import raw_line
from harness.lab.schema import SystemLog
from harness.phone import locators as L
from harness.phone.locator_match import Trees, evaluate, find, query_of
from harness.phone.survey import device_log, profile
from harness.phone.survey.privacy import Scrubber
from harness.wda_query import Node, parse_source

ICS, SB, PREFS = "com.apple.InCallService", "com.apple.springboard", "com.apple.Preferences"

# The attributes WDA 16.7 writes per element (WebDriverAgentLib/Utilities/FBXPath.m: type, value,
# name, label, enabled, visible, accessible, x, y, width, height, index); the elements themselves are
# the shapes REV Q1.1 shows for iOS 18's InCallService (acceptCall / rejectCall identifiers).
BANNER = """<?xml version="1.0" encoding="UTF-8"?>
<XCUIElementTypeApplication type="XCUIElementTypeApplication" name="InCallService" label="InCallService"
  enabled="true" visible="true" accessible="false" x="0" y="0" width="393" height="852" index="0">
  <XCUIElementTypeOther type="XCUIElementTypeOther" name="+1 (555) 010-0002, mobile"
    label="+1 (555) 010-0002, mobile" enabled="true" visible="true" accessible="false" x="8" y="50"
    width="377" height="80" index="0">
    <XCUIElementTypeStaticText type="XCUIElementTypeStaticText" value="+1 (555) 010-0002"
      name="+1 (555) 010-0002" label="+1 (555) 010-0002" enabled="true" visible="true" accessible="true"
      x="24" y="62" width="200" height="24" index="0"/>
    <XCUIElementTypeButton type="XCUIElementTypeButton" name="rejectCall" label="Decline" enabled="true"
      visible="true" accessible="true" x="250" y="62" width="56" height="56" index="1"/>
    <XCUIElementTypeButton type="XCUIElementTypeButton" name="acceptCall" label="Accept" enabled="true"
      visible="true" accessible="true" x="314" y="62" width="56" height="56" index="2"/>
  </XCUIElementTypeOther>
</XCUIElementTypeApplication>
"""


def test_a_page_source_is_read_as_wda_writes_it() -> None:
    root = parse_source(BANNER)
    assert root.type == "Application" and root.frame == (0, 0, 393, 852)
    accept = [n for n in root.walk() if n.type == "Button"][1]
    assert (accept.identifier, accept.label, accept.name) == ("acceptCall", "Accept", "acceptCall")
    text = next(n for n in root.walk() if n.type == "StaticText")
    assert (text.identifier, text.label) == ("", "+1 (555) 010-0002")  # name == label: no identifier
    with pytest.raises(ValueError, match="not an XML page source"):
        parse_source("<unclosed")


def test_locators_become_the_query_facebook_wda_sends() -> None:
    by = {loc.label: query_of(loc) for loc in L.ANSWER_CALL}
    assert by["InCallService id=acceptCall"] == ("id", "acceptCall")
    assert by["SpringBoard button name=Accept"] == ("class chain",
                                                    "**/XCUIElementTypeButton[`name == 'Accept'`]")
    assert by["button label BEGINSWITH Accept"][0] == "predicate string"


def test_a_forced_app_is_searched_only_while_it_shows_else_wda_falls_back_to_auto() -> None:
    banner = parse_source(BANNER)
    settings = Node("Application", label="Settings", children=[Node("Window", frame=(0, 0, 393, 852))])
    # the banner's app is not the one auto-detection picks (appium#14640): only forced locators see it
    behind = Trees({ICS: banner, PREFS: settings}, auto=PREFS)
    hits = {r.locator.label: r.matched for r in evaluate(L.ordered(L.ANSWER_CALL, 18), behind)}
    assert hits["InCallService id=acceptCall"] is False
    assert hits["InCallService (forced) id=acceptCall"] is True
    # forced SpringBoard, which shows nothing: WDA searches the auto-detected Settings instead
    assert find(L.ANSWER_CALL[5], behind) == []
    on_top = Trees({ICS: banner}, auto=ICS)
    assert [n.label for n in find(L.ANSWER_CALL[0], on_top)] == ["Accept"]


def test_an_alert_button_locator_asks_the_alert_on_screen() -> None:
    sheet = Node("Application", children=[Node("Sheet", children=[
        Node("Button", label="Reset Media Services"), Node("Button", label="Cancel")])])
    trees = Trees({PREFS: sheet}, auto=PREFS)
    assert [n.label for n in find(L.RESET_CANCEL[1], trees)] == ["Cancel"]
    assert [n.label for n in find(L.RESET_CONFIRM[0], trees)] == ["Reset Media Services"]
    assert find(L.CONFIRM_DIAL[0], trees) == []  # no Call button on that sheet


# -- privacy --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "+1 (555) 010-0002", "+1 (555) 010\u20110002", "555-010-0002", "+15550100002", "(555) 010 0002",
    "Calling +1 555 010 0002\u2026",
])
def test_phone_numbers_in_every_way_ios_writes_them_are_scrubbed(text: str) -> None:
    s = Scrubber(numbers=["+15550100002"])
    out = s.text(text)
    assert "0100002" not in re.sub(r"\D", "", out) and "[phone number]" in out
    assert s.counts["known number"] == 1
    assert s.text(text, party="caller", escape=True).count("{caller}") == 1


def test_apple_ids_names_and_possessive_device_names_are_scrubbed() -> None:
    s = Scrubber()
    s.add_names(["Sam's iPhone", "Caller iPhone", "Dana Scully"])
    out = s.text("FaceTime Audio sam.doe+lab@icloud.com, Dana Scully on Sam's iPhone, "
                 "Alex\u2019s AirPods Pro")
    assert "icloud" not in out and "Dana" not in out and "Sam" not in out and "Alex" not in out
    assert out == "FaceTime Audio [apple id], [name] on [name], [name]\u2019s AirPods Pro"
    assert s.found_in(out) == []


def test_what_is_not_personal_stays_and_braces_are_escaped_for_a_profile_tree() -> None:
    s = Scrubber(numbers=["+15550100002"])
    for text in ("18.2.1", "2026-08-30", "00:03", "Reset Media Services", "iPhone 15", "What's New",
                 "Today's Weather", "100%"):
        assert s.text(text) == text
    assert s.text("Call {x}?", escape=True) == "Call {{x}}?"
    assert not s.counts


# -- the raw device log ---------------------------------------------------------------------------


def _entry(when: datetime.datetime, process: str, message: str, subsystem: str = "") -> SyslogEntry:
    return SyslogEntry(pid=77, timestamp=when, level=SyslogLogLevel.NOTICE, image_name=process,
                       image_offset=0, filename=f"/usr/libexec/{process}", message=message,
                       label=SyslogLabel(category="", subsystem=subsystem) if subsystem else None)


def test_the_raw_log_file_is_read_back_and_sliced_by_the_phones_time() -> None:
    t0 = datetime.datetime(2026, 8, 30, 14, 3, 7, 123456)
    entries = [_entry(t0 + datetime.timedelta(seconds=i), p, m, sub) for i, (p, m, sub) in enumerate([
        ("audiomxd", "-CMSessionMgr- a line", "com.apple.coremedia"),
        ("InCallService", "UpdateCurrentState: Call status is TUCallStatusRinging", ""),
        ("kernel", "two\nlines", ""),
        ("SpringBoard", "after", ""),
    ])]
    text = "".join(raw_line(e) for e in entries)  # the raw file, as DeviceLogStream writes it
    lines = list(device_log.parse(text.splitlines(keepends=True)))
    assert [x.process for x in lines] == ["audiomxd", "InCallService", "kernel", "SpringBoard"]
    assert lines[0].subsystem == "com.apple.coremedia" and lines[2].message == "two\nlines"
    start = int(t0.timestamp() * 1e9)
    kept = device_log.window(lines, start, start + int(2.5e9))
    # the kernel line is not a survey process
    assert [x.process for x in kept] == ["audiomxd", "InCallService"]
    assert device_log.rate(lines, start, start + int(4e9)) == 1.0


REAL_LINES = [
    # REV Q3.1 (iOS device logs, audiomxd): a state change, not an interruption posted to the client
    "-CMSessionMgr- CMSessionMgrHandleApplicationStateChange:17005 Client com.hightowerai.MobileJarvisNative "
    "with session sid:0x6f879, MobileJarvisNati(9964), 'prim' [0x5430ec380] with pid '9964' is now "
    "ForegroundRunning. Background entitlement: NO ActiveLongFormVideoSession: NO IsLongFormVideoApp NO",
    # REV Q3.2 (macOS audiomxd): "beginInterruption" means the session goes active (the naming trap)
    "-MXCoreSession- -[MXCoreSession beginInterruption]: Session <ID: 168, PID = 42161, Name = sid:0x1ef0a7, "
    "Nexy(42161), 'prim', BundleID = com.nexy.assistant, Category = Record_WithBluetooth, Mode = Default, "
    "Active = YES, Playing = NO, Recording = YES> is going active",
    # REV Q3.3 (mediaserverd, iOS 13/14 era): an activation attempt that failed
    '{ "action":"cm_session_begin_interruption", "error":"translating CM session error", '
    '"session":{"ID":"0x3535e","PID":2145,"name":"liveninjaMesseng"}, "details":{"calling_line":3196,'
    '"error_code":-12983,"error_string":"Insufficient priority"} }',
]


@pytest.mark.parametrize("line", REAL_LINES)
def test_no_pattern_is_suggested_from_real_lines_that_post_no_interruption(line: str) -> None:
    assert device_log.suggest_pattern(line) is None


def test_a_line_naming_the_client_and_began_or_ended_gives_a_pattern_the_lab_schema_takes() -> None:
    # the shape of REV Q3.1's client naming with an interruption wording (none is public: H8)
    line = ("-CMSessionMgr- CMSessionMgrPostInterruption: Client com.example.voice with session sid:0x6f879, "
            "VoiceAgent(9964), 'prim' [0x5430ec380] with pid '9964' interruption ended, shouldResume: 1")
    pattern = device_log.suggest_pattern(line)
    assert pattern is not None
    m = re.search(pattern, line.replace("9964", "120").replace("0x6f879", "0xabc"))
    assert m is not None and m.groupdict() == {"bundle": "com.example.voice", "type": "ended",
                                               "should_resume": "1"}
    assert SystemLog(interruption_pattern=pattern).interruption_pattern == pattern


# -- the profile writer -----------------------------------------------------------------------------


def _n(type_: str, frame: tuple[int, int, int, int], label: str = "", ident: str = "",
       children: list[Node] | None = None, value: str | None = None) -> Node:
    return Node(type_, identifier=ident, label=label, value=value, frame=frame, children=children or [])


def test_an_overlay_is_what_is_new_against_its_base_by_type_frame_and_identifier() -> None:
    clock = _n("StaticText", (20, 10, 60, 20), "9:41")
    home = Node("Application", children=[_n("Other", (0, 0, 390, 844), ident="SBHomeScreenView",
                                            children=[clock])])
    later_clock = _n("StaticText", (20, 10, 60, 20), "9:42")  # the minute changed: the same element
    cc = _n("Other", (0, 0, 390, 844), ident="ControlCenterView",
            children=[_n("Button", (40, 120, 70, 70), "Bluetooth")])
    now = Node("Application", children=[_n("Other", (0, 0, 390, 844), ident="SBHomeScreenView",
                                           children=[later_clock]), cc])
    assert profile.new_subtrees(now, home) == [cc]
    assert profile.new_subtrees(now, None) == now.children


def test_the_timer_screen_follows_its_shape() -> None:
    alert = [_n("Other", (0, 0, 390, 844), children=[_n("Alert", (60, 330, 270, 140))])]
    island = [_n("Other", (12, 11, 366, 84), "Timer", "systemApertureElementIdentifierTimer")]
    banner = [_n("Other", (8, 50, 374, 90), "Timer")]
    assert [profile.timer_screen(x) for x in (alert, island, banner)] == [
        "timer.alert", "timer.live_activity", "timer.banner"]


def test_paired_device_rows_become_one_row_per_device_of_the_virtual_phone() -> None:
    rows = [_n("Cell", (20, 210 + 50 * i, 350, 44), name, value="Connected" if i == 0 else "Not Connected",
               children=[_n("StaticText", (30, 210 + 50 * i, 250, 44), name),
                         _n("Button", (320, 210 + 50 * i, 44, 44), "More Info")])
            for i, name in enumerate(["Sam\u2019s AirPods", "Car"])]
    window = _n("Window", (0, 0, 390, 844), children=[_n("Switch", (20, 120, 350, 44), "Bluetooth"), *rows])
    w = profile.Written("settings.bluetooth", None, PREFS, [window], False, PREFS)  # type: ignore[arg-type]
    assert profile.bluetooth_rows(w)
    doc = profile.Writer(Scrubber(), "survey iPhone15,4 22C152 2026-08-30").node(window, None)
    each = doc["children"][1]
    assert each["each"] == "devices" and each["when"] == "bluetooth_on" and each["step"] == [0, 50]
    row = each["template"]
    assert (row["label"], row["value"], row["action"]) == ("{name}", "{state}", "bt:{name}")
    assert row["children"][1]["action"] == "settings:bt-info:{name}"
    assert "Sam" not in str(doc)


@pytest.mark.parametrize(("idle", "value"), [(0.0, "quiet"), (40.0, "quiet"), (350.0, "typical"),
                                             (1001.5, "typical"), (1800.0, "heavy"), (4300.0, "heavy")])
def test_the_log_volume_is_the_nearest_value_to_the_idle_rate(idle: float, value: str) -> None:
    """A real phone's idle rate (hundreds to thousands of lines a second, real-iphone.md H6) picks
    the nearest of the virtual phone's values on a log scale; nearly silent is quiet."""
    assert profile.log_volume(idle) == value
