"""A real libwebrtc client: headless Debian Chromium publishes its fake microphone over WHIP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess

from aiohttp import web

from harness.audio.analyze import analyze
from harness.audio.probe import MOUTH_SEED, probe
from harness.audio.wav import read_wav, write_wav
from harness.peer.whip import WhipPeer
from tests.peer.loaded_host import real_gaps

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "chromium-call"

PAGE = """<!doctype html><html><body><script>
(async () => {
  const log = (m) => { document.title = m; };
  try {
    const stream = await navigator.mediaDevices.getUserMedia({audio: {
      echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
    const pc = new RTCPeerConnection({iceServers: []});
    pc.addTransceiver(stream.getAudioTracks()[0], {direction: "sendrecv"});
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((done) => {
      if (pc.iceGatheringState === "complete") return done();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
      setTimeout(done, 3000);
    });
    const res = await fetch(WHIP_URL, {method: "POST", body: pc.localDescription.sdp,
      headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + TOKEN}});
    if (res.status !== 201) return log("whip-status-" + res.status);
    await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
    log("published");
  } catch (e) { log("error " + e); }
})();
</script></body></html>"""


PAGE_KEY = web.AppKey("page", str)


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[PAGE_KEY], content_type="text/html")


async def test_chromium_uplink_holds_the_probe_without_gap(tmp_path):
    assert os.path.exists(CHROMIUM), "needs Debian's chromium package: apt-get install -y chromium"
    # 16-bit STEREO: Chromium plays a mono file at twice the speed
    wav = write_wav(tmp_path / "probe.wav", probe(30.0, MOUTH_SEED, channels=2), 48000)
    async with WhipPeer(bind="127.0.0.1:0", tokens=[TOKEN], record_dir=tmp_path / "rec") as peer:
        page = PAGE.replace("WHIP_URL", repr(peer.url)).replace("TOKEN", repr(TOKEN), 1)
        app = web.Application()
        app[PAGE_KEY] = page
        app.router.add_get("/", _page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        page_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"
        chromium_log = open(tmp_path / "chromium.log", "wb")  # noqa: SIM115 - closed in finally
        proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
             "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
             "--allow-loopback-in-peer-connection", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--remote-debugging-port=0", page_url],
            stdout=subprocess.DEVNULL, stderr=chromium_log, start_new_session=True)
        try:
            call = await peer.wait_call(TOKEN, timeout=60)
            session = call.sessions[-1]
            for _ in range(1200):  # up to 60 s for 6 s of uplink on a loaded machine
                if session.tap is not None and session.tap.totals()["packets"] >= 300:
                    break
                await asyncio.sleep(0.05)
            assert session.tap.totals()["packets"] >= 300, (tmp_path / "chromium.log").read_text()[-2000:]
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the browser and its children, nothing else
            proc.wait(10)
            chromium_log.close()
            await runner.cleanup()
    assert call.summary()["lost"] == 0
    for axis in ("rtp", "arrival"):
        samples, rate = read_wav(call.wavs[axis])
        a = analyze(samples, rate, {"mouth": probe(35.0, MOUTH_SEED)}, echo=False)
        # the browser is killed before the peer closes the session: the WAV ends in a short
        # missing-end (the uplink really stopped while the session was up), nothing before it
        tail = [g for g in a.gaps if g.kind == "missing-end"]
        assert all(g.duration_ms < 3000 for g in tail), [g.to_dict() for g in tail]
        # coverage of what the browser sent (the tail's length is how long a loaded host took to close)
        sent_s = a.expected_s - sum(g.duration_ms for g in tail) / 1000
        assert a.matched_s > 4.0 and a.matched_s / sent_s > 0.95, (axis, a.matched_s, sent_s)
        gaps = [g for g in a.gaps if g.kind != "missing-end"]
        real = real_gaps(gaps, axis)  # RTP axis exact (no tail left in gaps); arrival: this host's stalls
        assert real == [], (axis, [g.to_dict() for g in a.gaps])
