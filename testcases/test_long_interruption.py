"""A phone call longer than ICE consent (RFC 7675: 30 s without answers; a lab may set its peer's
shorter, ``peer: consent_timeout_s``) interrupts the call.

iOS suspends the app while the phone call lasts, so the peer's consent checks go unanswered and
the peer drops the connection. Promise: when the phone call ends the app notices, opens a fresh
session on the same token, and the call plays again; the peer (not the app's log) shows it.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_new_session, expect_playing, expect_resumed


@pytest.mark.catches("no_ice_recheck")
def test_long_interruption(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(3.0)
    hold_s = call.consent_timeout_s + 4.0  # the peer's consent timeout, from the lab file
    evidence.record("hold_s", round(hold_s, 1))
    phone_call = actions.phone_call("tel", hold_s)
    time.sleep(limits.ice_reconnect_s)
    spans = evidence.downlink("receiver")
    expect_playing(spans, steady, "receiver before the phone call")
    sessions = evidence.peer_sessions()
    evidence.record("peer_sessions", len(sessions))
    broke = sessions[0].failed_ns if sessions else None
    # when the peer dropped the first session: before the call ended, if consent really expired
    evidence.record("first_session_broke_after_s",
                    round((broke - phone_call.start_ns) / 1e9, 1) if broke is not None else None)
    took = expect_new_session([s.created_ns for s in sessions], phone_call.end_ns, limits.ice_reconnect_s,
                              "peer")
    evidence.record("new_session_after_s", round(took, 2))
    latency = expect_resumed(spans, phone_call.end_ns, limits.ice_reconnect_s,
                             "receiver after the phone call", rule_id="ice-recheck")
    evidence.record("resume_latency_ms", round(latency * 1000, 1))
