"""Property-based fuzzing (hypothesis) of the inputs a lab takes from outside: lab files, SDP offers,
WAV files and WebDriverAgent's JSON. Each property is "a clear error or a right result, never a
traceback". Example counts are chosen so the module stays well under two minutes on a loaded 2-core
machine; ``derandomize`` keeps CI reproducible (a failure names its example).
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import wda
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.audio.wav import MAX_RATE, read_wav
from harness.cli import main
from harness.errors import HarnessError, LabFault, UsageError
from harness.lab.schema import Lab
from harness.loop import LoopThread
from harness.peer.whip import WhipPeer
from harness.phone.wda_client import WdaConnection


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _clear(err: HarnessError, prefix: str) -> None:
    """A clear error: one line that names the thing, not a wall of text."""
    text = str(err)
    assert text.startswith(prefix) and "\n" not in text and len(text) < 2000, text[:300]


# -- lab files ----------------------------------------------------------------------------------------

VALID_LAB = {
    "version": 1, "usbmuxd": "/tmp/usbmuxd.sock",
    "devices": [{"name": "QA iPhone 15", "udid": "00008120-001A2B3C4D5E6F70", "role": "dut",
                 "phone_number": "+15550100001", "wda_port": 8100,
                 "audio": {"capture": {"receiver": {"device": "USB", "channel": 0}}}},
                {"name": "Caller", "udid": "00008130-001A2B3C4D5E6F71", "role": "caller"}],
    "peer": {"bind": "0.0.0.0:8443"},
}
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12)


def _paths(data: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _load(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lab.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            lab = Lab.load(path)
        except UsageError as err:
            _clear(err, f"lab file {path}:")
        else:
            assert lab.devices and any(dev.role == "dut" for dev in lab.devices)


@fuzz(300)
@given(data=st.data(), value=JSONISH)
def test_lab_loader_mutated_fields(data: st.DataObject, value: object) -> None:
    lab = json.loads(json.dumps(VALID_LAB))
    where = data.draw(st.sampled_from(_paths(lab)[1:]))
    parent = lab
    for k in where[:-1]:
        parent = parent[k]
    parent[where[-1]] = value
    _load(yaml.safe_dump(lab, allow_unicode=True))


YAML_CHARS = "[]{}:,-&*!|>'\"#%@`\n\t ?abc019.\u00e9\x00"


@fuzz(300)
@given(text=st.text(alphabet=st.sampled_from(list(YAML_CHARS)), max_size=200))
def test_lab_loader_yaml_noise(text: str) -> None:
    _load(text)


@fuzz(200)
@given(blob=st.binary(max_size=2000))
def test_lab_loader_bytes(blob: bytes) -> None:
    _load(blob)


# -- SDP offers through the real WHIP endpoint -----------------------------------------------------------

TOKEN = "fuzz"


@pytest.fixture(scope="module")
def whip(tmp_path_factory: pytest.TempPathFactory, offer_sdp: str) -> Iterator[tuple[str, str]]:
    with LoopThread() as loop:
        peer = WhipPeer(tokens=[TOKEN], record_dir=tmp_path_factory.mktemp("fuzz-peer"))
        loop.run(peer.start())
        try:
            yield peer.url, offer_sdp
        finally:
            loop.run(peer.stop(), timeout=60)


def _mutate(data: st.DataObject, lines: list[str]) -> list[str]:
    kind = data.draw(st.sampled_from(["delete", "duplicate", "swap", "flip", "junk", "number", "truncate"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    out = list(lines)
    if kind == "delete":
        del out[i]
    elif kind == "duplicate":
        out.insert(i, out[i])
    elif kind == "swap":
        j = data.draw(st.integers(0, len(lines) - 1))
        out[i], out[j] = out[j], out[i]
    elif kind == "flip" and out[i]:
        k = data.draw(st.integers(0, len(out[i]) - 1))
        c = data.draw(st.characters(codec="utf-8", exclude_characters="\r\n"))
        out[i] = out[i][:k] + c + out[i][k + 1:]
    elif kind == "junk":
        out.insert(i, data.draw(st.text(max_size=40).map(lambda s: s.replace("\r", "").replace("\n", ""))))
    elif kind == "number":
        big = data.draw(st.sampled_from(["0", "-1", "4294967296", "99999999999999999999", "NaN"]))
        out[i] = "".join(big if ch.isdigit() else ch for ch in out[i])
    else:
        out = out[:i]
    return out


@fuzz(300)
@given(data=st.data())
def test_sdp_offers_get_201_or_a_4xx_with_a_reason(whip: tuple[str, str], data: st.DataObject) -> None:
    url, offer = whip
    lines = offer.split("\r\n")[:-1]
    for _ in range(data.draw(st.integers(1, 3))):
        lines = _mutate(data, lines) or ["v=0"]
    body = ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogatepass")
    req = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {TOKEN}",
                                                          "Content-Type": "application/sdp"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    assert status == 201 or 400 <= status < 500, (status, text)
    if status == 201:
        assert text.startswith("v=0")
    else:
        assert text.strip() and "Traceback" not in text


# -- WAV files ----------------------------------------------------------------------------------------


def _valid_wav(seconds: float = 0.3, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    x = (np.sin(np.arange(int(seconds * rate)) * 0.1) * 0.3).astype(np.float32)
    sf.write(buf, x, rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


VALID_WAV = _valid_wav()


def _read(blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.wav"
        path.write_bytes(blob)
        try:
            samples, rate = read_wav(path)
        except UsageError as err:
            _clear(err, str(path))
            return
        assert 0 < rate <= MAX_RATE and len(samples) > 0 and samples.dtype == np.float32
        ref = Path(d) / "ref.wav"
        ref.write_bytes(VALID_WAV)
        assert main(["analyze", str(path), "--reference", str(ref)]) in (0, 2)


@fuzz(250)
@given(data=st.data())
def test_wav_reader_mutated_headers(data: st.DataObject, capsys: pytest.CaptureFixture[str]) -> None:
    blob = bytearray(VALID_WAV)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, 60))
        blob[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    _read(bytes(blob[:cut] if data.draw(st.booleans()) else blob))
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err


@fuzz(150)
@given(blob=st.binary(max_size=600))
def test_wav_reader_bytes(blob: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    _read(b"RIFF" + blob if blob[:1] == b"R" else blob)
    assert "internal error" not in capsys.readouterr().err


# -- WebDriverAgent's JSON ----------------------------------------------------------------------------


class _Wda(http.server.ThreadingHTTPServer):
    body: bytes = b"{}"
    status: int = 200


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Wda

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fake_wda() -> Iterator[_Wda]:
    server = _Wda(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()


WDA_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["value", "sessionId", "status", "error", "message", "state", "os", "ios", "x"]) |
        st.text(max_size=8), kids, max_size=4),
    max_leaves=10)


@fuzz(250)
@given(doc=WDA_JSON, status=st.sampled_from([200, 200, 200, 404, 500]), raw=st.booleans())
def test_wda_json_of_any_shape_is_a_result_or_a_lab_fault(fake_wda: _Wda, doc: object, status: int,
                                                          raw: bool) -> None:
    fake_wda.status = status
    fake_wda.body = json.dumps(doc).encode()[:-1] if raw else json.dumps(doc).encode()  # raw: cut JSON
    conn = WdaConnection(f"http://127.0.0.1:{fake_wda.server_address[1]}", name="fuzz", timeout=10)
    for what, fn in (("status", conn.client.status), ("session", conn.session_id),
                     ("window", lambda: conn.session_get("/window/size"))):
        with contextlib.suppress(LabFault, wda.WDAError):
            fn() if what != "status" else conn.call(what, fn)
