"""The app under test launched with an environment, read back from WDA's ``/wda/activeAppInfo``."""

from __future__ import annotations

import secrets

import pytest

from tests.iphone.conftest import report

pytestmark = pytest.mark.iphone


def test_the_app_is_launched_with_the_environment(lab, open_phone, out_dir):
    if lab.spec.app is None:
        pytest.skip("the lab file has no app (app: {bundle_id: ...})")
    bundle = lab.spec.app.bundle_id
    dut = open_phone("dut")
    probe = secrets.token_hex(8)
    env = {**lab.spec.app.launch_env, "HARNESS_LAUNCH_PROBE": probe}
    dut.ui.launch_app(bundle, env)
    try:
        # WDA answers with what XCUIApplication was launched with (wda.md: processArguments {args, env})
        info = dut.ui.wda.call("active app", dut.ui.wda.client.app_current)
        got = (info.get("processArguments") or {}).get("env") or {}
        report(out_dir, "app-launch", bundle_id=info.get("bundleId"), pid=info.get("pid"),
               env_keys=sorted(got), probe_seen=got.get("HARNESS_LAUNCH_PROBE") == probe)
        assert info.get("bundleId") == bundle
        assert {k: got.get(k) for k in env} == env
    finally:
        dut.ui.terminate_app(bundle)
