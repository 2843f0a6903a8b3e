"""The README's worked accessory plugin (a speaker on a smart plug) runs as printed, against a real
HTTP server standing in for the plug."""

from __future__ import annotations

import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.errors import LabFault
from harness.lab.accessories import load_accessories
from harness.lab.schema import Lab
from harness.lab.settings_bluetooth import SettingsBluetoothAccessory

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (code,) = [b for b in blocks if "class PluggedSpeaker" in b]
    return code


@pytest.fixture
def plug():
    """An HTTP server answering like the plug's /rpc/Switch.Set, recording each request's path."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b'{"was_on": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_readme_plug_plugin_switches_the_plug(tmp_path, monkeypatch, plug):
    address, seen = plug
    (tmp_path / "mylab").mkdir()
    (tmp_path / "mylab" / "__init__.py").write_text("")
    (tmp_path / "mylab" / "plug.py").write_text(_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mylab", raising=False)
    lab = Lab.from_dict({
        "devices": [{"name": "QA iPhone 15", "udid": "00008120-001A2B3C4D5E6F70", "role": "dut"}],
        "accessories": [{"name": "JBL Flip 6", "profiles": ["a2dp"], "device": "QA iPhone 15",
                         "plugin": "mylab.plug:PluggedSpeaker", "options": {"plug": address}}],
    })
    speaker = load_accessories(lab)["JBL Flip 6"]
    assert isinstance(speaker, SettingsBluetoothAccessory)
    speaker.power_off()
    speaker.power_on()
    assert seen == ["/rpc/Switch.Set?id=0&on=false", "/rpc/Switch.Set?id=0&on=true"]
    with pytest.raises(LabFault, match="no phone to drive Settings on"):
        speaker.connect()  # Settings needs the DUT, which the harness binds during a run


def test_an_unreachable_plug_is_a_lab_fault(tmp_path, monkeypatch):
    (tmp_path / "mylab").mkdir()
    (tmp_path / "mylab" / "__init__.py").write_text("")
    (tmp_path / "mylab" / "plug.py").write_text(_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mylab", raising=False)
    monkeypatch.delitem(sys.modules, "mylab.plug", raising=False)
    lab = Lab.from_dict({
        "devices": [{"name": "A", "udid": "00008120-001A2B3C4D5E6F70", "role": "dut"}],
        "accessories": [{"name": "S", "plugin": "mylab.plug:PluggedSpeaker",
                         "options": {"plug": "127.0.0.1:9"}}],
    })
    with pytest.raises(LabFault, match=re.escape("the plug at http://127.0.0.1:9/rpc/Switch.Set")) as err:
        load_accessories(lab)["S"].power_off()
    assert err.value.tag == "accessory"
