"""VirtualPhone on its own: identity, processes, the log fan-out, AFC's file tree."""

from __future__ import annotations

import asyncio
import threading

import pytest

from harness.sim.fs import VirtualFS
from harness.sim.pairing import DeviceIdentity
from harness.sim.phone import VirtualPhone, build_for

KEY = DeviceIdentity()  # one RSA key for every phone here: key generation is the slow part


def _phone(**kw) -> VirtualPhone:
    return VirtualPhone(identity=KEY, **kw)


def test_udid_is_stable_per_name_and_slot_and_looks_real():
    a, b, c = _phone(name="A", index=0), _phone(name="A", index=0), _phone(name="B", index=0)
    assert a.udid == b.udid != c.udid
    chip, ecid = a.udid.split("-")
    assert chip == "00008120" and len(ecid) == 16 and int(ecid, 16) == a.ecid


def test_versions_and_builds():
    assert _phone(ios_version="18").ios_version == "18.2"
    assert _phone(ios_version="17.5.1").build == "21F90"
    assert build_for("17.4") != build_for("17.5.1")


def test_processes_and_log_records():
    phone = _phone(apps=None)
    seen = []
    remove = phone.add_log_listener(seen.append)
    record = phone.log("WebDriverAgentRunner-Runner", "hi", subsystem="s", category="c", level="info")
    assert record.process.path.endswith("/WebDriverAgentRunner-Runner.app/WebDriverAgentRunner-Runner")
    assert phone.log("mediaserverd", "x").process.path == "/usr/sbin/mediaserverd"
    assert phone.log("VoiceApp", "y", pid=4321).process.pid == 4321
    remove()
    phone.log("mediaserverd", "not seen")
    assert [r.message for r in seen] == ["hi", "x", "y"]
    assert len(phone.log_history) == 4
    with pytest.raises(ValueError, match="not one of default, info, debug, error, fault"):
        phone.log("x", "y", level="notice")


async def test_log_from_another_thread_lands_on_the_loop():
    phone = _phone()
    phone.bind_loop(asyncio.get_running_loop())
    got = asyncio.Event()
    threads: list[int] = []
    phone.add_log_listener(lambda r: (threads.append(threading.get_ident()), got.set()))
    worker = threading.Thread(target=phone.log, args=("VoiceApp", "from a thread"))
    worker.start()
    worker.join()
    await asyncio.wait_for(got.wait(), 5)
    assert threads == [threading.get_ident()]


def test_virtual_fs():
    fs = VirtualFS(("/PublicStaging",))
    fs.write("/PublicStaging/a/b.ipa", b"zip")
    assert fs.listdir("/PublicStaging") == ["a"]
    assert fs.read("/PublicStaging/a/b.ipa") == b"zip"
    with pytest.raises(OSError):
        fs.remove("/PublicStaging/a")
    fs.rename("/PublicStaging/a", "/PublicStaging/c")
    assert fs.listdir("/PublicStaging/c") == ["b.ipa"]
    fs.remove("/PublicStaging/c", recursive=True)
    assert fs.listdir("/PublicStaging") == []
    with pytest.raises(FileNotFoundError):
        fs.read("/nope")
