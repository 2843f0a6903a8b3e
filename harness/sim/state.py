"""What ``harness sim up`` leaves in its state dir, and starting a lab as a subprocess.

``DIR/lab.yaml`` is a lab file in the harness's one schema (usable unchanged by ``harness run``);
``DIR/sim.json`` is for debugging tools and the lab's own tests: pid, control URL, usbmuxd address,
and per phone its UDID and direct WDA URL. Both are written atomically (temp file + rename), so a
reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.lab.schema import App, Audio, Device, Lab, Peer, SystemLog

# Reading the state and starting a lab subprocess live on the harness side: fixtures use them and
# must not import harness.sim.
from harness.lab.virtual import (
    LAB_YAML,
    SIM_JSON,
    LabProcess,
    clear_state,
    foreign_process,
    pid_alive,
    process_identity,
    read_state,
    start_lab_process,
)

VIRTUAL_CONSENT_S = 10.0
"""The virtual lab's peer drops a silent connection after 10 s (RFC 7675 says 30 s), so the
long-interruption scenario fits the nightly budget; a real lab keeps the RFC value."""


def system_log(lab: Any) -> SystemLog | None:
    """The lab's ``system_log``, as a lab that captured its DUTs' lines would write it: the audio
    daemon's process and interruption pattern (the phone profiles' ``audio_daemon_line`` format),
    ``verified`` (this lab saw its own lines: the virtual lab counts as having surveyed itself), and
    the line iOS writes while Live Voicemail keeps a declined call. No interruption pattern when the
    DUTs log none or differ (one system_log per lab file); None without DUTs."""
    from harness.sim.scene.ios_log import IosLog

    duts = [p for p in lab.phones.values() if p.role == "dut"]
    if not duts:
        return None
    found = {IosLog(p).lab_pattern() for p in duts}
    held = {IosLog(p).call_held_pattern() for p in duts} - {None}
    fields: dict[str, Any] = {"call_held_pattern": held.pop() if len(held) == 1 else None}
    if len(found) == 1 and None not in found:
        (pattern,) = found
        assert pattern is not None
        fields.update(audio_process=pattern[0], interruption_pattern=pattern[1], verified=True)
    return SystemLog(**fields)


def peer(lab: Any) -> Peer:
    """The lab's peer: on loopback, or on every interface when the phones reach the lab host only on a
    LAN address (phone_network=lan-only, as a real lab's phones: it must then advertise a routable one)."""
    lan = any(p.variants.get("phone_network") == "lan-only" for p in lab.phones.values())
    return Peer(bind="0.0.0.0:0" if lan else "127.0.0.1:0", consent_timeout_s=VIRTUAL_CONSENT_S)


def lab_file(lab: Any) -> Lab:
    """The lab.yaml of a running :class:`harness.sim.lab.VirtualLab`.

    With the scene extension the phones carry their audio rig (route captures, the mouth, the
    PulseAudio client env) and the lab names the voice app, as a real lab's file would.
    """
    scene = getattr(lab, "scene", None)
    log = system_log(lab)
    return Lab(
        usbmuxd=lab.usbmuxd_address,
        virtual=True,
        app=App(bundle_id=scene.app_bundle_id) if scene is not None else None,
        devices=[
            Device(
                name=p.name,
                udid=p.udid,
                role=p.role,
                ios=p.ios_version,
                model=p.model,
                phone_number=p.phone_number,
                apple_id=p.apple_id,
                music_content=scene is not None,  # the audio world plays Music's track offline
                audio=Audio.model_validate(scene.audio_map(p)) if scene is not None else None,
            )
            for p in lab.phones.values()
        ],
        accessories=scene.accessory_specs() if scene is not None else [],
        peer=peer(lab),
        **({"system_log": log} if log is not None else {}),
    )


def sim_state(lab: Any) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "control_url": lab.control_url,
        "usbmuxd_address": lab.usbmuxd_address,
        "system_socket": lab.usbmuxd.system_socket,
        "extensions": list(lab.extensions),
        "variants": dict(lab.config.variants),
        "state_dir": str(lab.state_dir),
        "lab_yaml": str(Path(lab.state_dir) / LAB_YAML),
        "phones": [
            {"udid": p.udid, "name": p.name, "role": p.role, "ios": p.ios_version, "wda_url": p.wda_url}
            for p in lab.phones.values()
        ],
        "process": process_identity(os.getpid()),  # `sim down` signals only this very process
    }


def write_state(lab: Any) -> tuple[Path, Path]:
    state_dir = Path(lab.state_dir)
    lab_path = state_dir / LAB_YAML
    lab_file(lab).dump(lab_path)
    sim_path = state_dir / SIM_JSON
    tmp = sim_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(sim_state(lab), indent=2) + "\n", encoding="utf-8")
    tmp.replace(sim_path)
    return lab_path, sim_path


__all__ = ["LAB_YAML", "SIM_JSON", "LabProcess", "clear_state", "foreign_process", "lab_file", "pid_alive",
           "process_identity", "read_state", "sim_state", "start_lab_process", "write_state"]
