"""Lockdown services of the virtual phone, by their real service names."""

from __future__ import annotations

from harness.sim.lockdownd import ServiceSpec
from harness.sim.services.afc import afc_service, crash_copy_service
from harness.sim.services.crash_reports import crash_mover_service
from harness.sim.services.image_mounter import image_mounter_service
from harness.sim.services.installation_proxy import installation_proxy_service
from harness.sim.services.misagent import misagent_service
from harness.sim.services.notification_proxy import notification_proxy_service
from harness.sim.services.os_trace import os_trace_service
from harness.sim.services.syslog_relay import syslog_relay_service


def default_services() -> dict[str, ServiceSpec]:
    return {
        "com.apple.afc": ServiceSpec(afc_service),
        "com.apple.mobile.installation_proxy": ServiceSpec(installation_proxy_service),
        "com.apple.os_trace_relay": ServiceSpec(os_trace_service),
        "com.apple.syslog_relay": ServiceSpec(syslog_relay_service),
        "com.apple.crashreportcopymobile": ServiceSpec(crash_copy_service),
        "com.apple.crashreportmover": ServiceSpec(crash_mover_service),
        "com.apple.mobile.notification_proxy": ServiceSpec(notification_proxy_service),
        "com.apple.mobile.mobile_image_mounter": ServiceSpec(image_mounter_service),
        "com.apple.misagent": ServiceSpec(misagent_service),
        "com.apple.mobile.insecure_notification_proxy": ServiceSpec(notification_proxy_service, ssl=False),
    }
