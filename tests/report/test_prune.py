"""Captures as FLAC (lossless, crash-safe hand-over from WAV) and ``--keep-audio``: a passing test's
recordings pruned to excerpts after its report is written, a failing test's kept whole."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.audio.capture import capture_file, compress_capture, read_capture, sidecar_path
from harness.report.artifacts import gather, list_files
from harness.report.build import write_report
from harness.report.results import TestResult, run_metadata
from tests.report import scene


def _wav_capture(folder: Path, name: str = "receiver") -> Path:
    """A route capture as the capture writer leaves it before it closes (WAV + sidecar)."""
    built = scene.build(folder)
    return built / "audio" / f"{name}.wav"


def test_compress_is_lossless_and_every_reader_reads_the_flac(tmp_path: Path) -> None:
    wav = _wav_capture(tmp_path / "t")
    before = read_capture(wav)
    raw = sf.read(wav, dtype="int16")[0]
    flac = compress_capture(wav)
    assert flac == wav.with_suffix(".flac") and not wav.exists() and not sidecar_path(wav).exists()
    assert sf.info(flac).format == "FLAC" and flac.stat().st_size < 0.8 * len(raw) * 2
    assert np.array_equal(sf.read(flac, dtype="int16")[0], raw)  # the very integers written
    after = read_capture(wav)  # named by its old suffix, as the rig and the verdicts name it
    assert after.path == flac and np.array_equal(after.samples, before.samples)
    assert after.anchors == before.anchors and after.complete and after.rate == before.rate
    files = list_files(tmp_path / "t")
    assert [p.name for p in files["audio"]] == ["receiver.flac", "speaker.wav"]
    ev = gather(tmp_path / "t")  # the report's analysis reads it unchanged: same presence and gap band
    assert len(ev.gap_bands()) == 1


def test_a_crash_while_compressing_leaves_one_readable_capture(tmp_path: Path) -> None:
    wav = _wav_capture(tmp_path / "t")
    samples = read_capture(wav).samples
    # killed before the rename: a .tmp beside the WAV; readers use the WAV, the report lists it alone
    (wav.with_suffix(".flac.tmp")).write_bytes(b"fLaC half")
    assert capture_file(wav) == wav and np.array_equal(read_capture(wav).samples, samples)
    assert [p.name for p in list_files(tmp_path / "t")["audio"]] == ["receiver.wav", "speaker.wav"]
    # killed after the rename, before the WAV was removed: the complete FLAC wins, listed once
    saved = wav.read_bytes(), sidecar_path(wav).read_bytes()
    flac = compress_capture(wav)
    wav.write_bytes(saved[0])
    sidecar_path(wav).write_bytes(saved[1])
    assert capture_file(wav) == flac and capture_file(flac) == flac
    assert [p.name for p in list_files(tmp_path / "t")["audio"]] == ["receiver.flac", "speaker.wav"]
    assert np.array_equal(read_capture(wav).samples, samples)


def test_float_captures_and_wide_interfaces_stay_wav(tmp_path: Path) -> None:
    """FLAC holds integers, up to 8 channels: a float32 capture, or a real rig's 10-channel USB
    interface recorded as one stream, stays WAV (and is read as before)."""
    for i, change in enumerate(({"sample_format": "float32"}, {"channels": 10})):
        wav = _wav_capture(tmp_path / f"t{i}")
        side = sidecar_path(wav)
        lines = [json.loads(x) for x in side.read_text().splitlines()]
        lines[0].update(change)
        side.write_text("".join(json.dumps(x) + "\n" for x in lines))
        assert compress_capture(wav) == wav and wav.exists() and not wav.with_suffix(".flac").exists()


def _results(folder: Path, outcome: str) -> list[TestResult]:
    return [TestResult("testcases/test_x.py::test_call", outcome, device=scene.PHONE,
                       rule="resume-on-should-resume" if outcome == "app-failure" else "",
                       artifacts={"dir": str(folder)})]


def test_keep_audio_failures_prunes_a_passing_test_after_its_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = scene.build(out / "tests" / "t_call")
    (folder / "audio-chain").mkdir()
    (folder / "audio-chain" / "dev.wav").write_bytes(b"RIFF")
    raw_log = "".join(f"+{i / 1000:.3f}s SpringBoard[57] line {i}\n" for i in range(5000))
    (folder / "device-log-raw.txt").write_text(raw_log)
    unpruned = scene.build(tmp_path / "full" / "tests" / "t_call")
    first = write_report(tmp_path / "full", _results(unpruned, "pass"), run_metadata())
    data = write_report(out, _results(folder, "pass"), run_metadata(), keep_audio="failures")
    html = (out / "index.html").read_text()
    # the plots were drawn from the whole captures: same presence lanes and gap band as unpruned
    full = (tmp_path / "full" / "index.html").read_text()
    assert html.count('class="gap-band"') == full.count('class="gap-band"') > 0
    assert html.count('class="presence"') == full.count('class="presence"') > 0
    assert first["exit_code"] == data["exit_code"] == 0
    # the whole recordings are gone, an excerpt of the route that carried the call is there
    assert not (folder / "audio").exists() and not (folder / "audio-chain").exists()
    assert not list((folder / "peer").rglob("*.wav"))
    excerpts = sorted(p.name for p in (folder / "audio-excerpts").iterdir())
    assert excerpts == ["receiver-1.flac", "receiver-1.flac.timing.jsonl"]
    cut = read_capture(folder / "audio-excerpts" / "receiver-1.flac")
    lo, hi = (cut.t0_ns - scene.T0) / 1e9, (cut.time_of(len(cut.samples)) - scene.T0) / 1e9
    assert lo < scene.GAP[0] and hi > scene.GAP[1] and hi - lo < 10  # around the interruption only
    assert (folder / "timeline.jsonl").is_file() and (folder / "device-log.txt").is_file()
    # the raw device log is kept whole, compressed
    assert not (folder / "device-log-raw.txt").exists()
    assert gzip.decompress((folder / "device-log-raw.txt.gz").read_bytes()).decode() == raw_log
    # every link in the page and in results.json points at a file that is there
    arts = data["tests"][0]["artifacts"]
    assert arts["audio"] == [] and arts["excerpts"] == ["tests/t_call/audio-excerpts/receiver-1.flac"]
    for href in [h.split('"')[0] for h in html.split('href="')[1:]]:
        if not href.startswith("#") and href != "junit.xml":  # pytest writes junit.xml
            assert (out / href).exists(), href
    assert json.loads((out / "results.json").read_text())["tests"][0]["artifacts"] == arts


def test_keep_audio_failures_keeps_a_failing_test_whole_and_compresses_what_a_crash_left(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = scene.build(out / "tests" / "t_call")
    write_report(out, _results(folder, "app-failure"), run_metadata(), keep_audio="failures")
    names = sorted(p.name for p in (folder / "audio").iterdir())
    assert names == ["receiver.flac", "receiver.flac.timing.jsonl",
                     "speaker.flac", "speaker.flac.timing.jsonl"]
    assert read_capture(folder / "audio" / "receiver.wav").complete
    assert 'href="tests/t_call/audio/receiver.flac"' in (out / "index.html").read_text()


def test_a_repro_bundle_cuts_flac_captures_too(tmp_path: Path) -> None:
    from harness.report.bundle import write_bundle

    folder = scene.build(tmp_path / "t_call")
    for name in ("receiver", "speaker"):
        compress_capture(folder / "audio" / f"{name}.wav")
    r = TestResult("testcases/test_x.py::test_call", "app-failure", rule="resume-on-should-resume",
                   artifacts={"dir": str(folder)})
    index = write_bundle(tmp_path / "bundle", r, folder, run_metadata(), {"run": ["harness", "run"]})
    audio = index.parent / "tests" / "t_call" / "audio"
    assert sorted(p.name for p in audio.iterdir()) == ["receiver.wav", "receiver.wav.timing.jsonl",
                                                       "speaker.wav", "speaker.wav.timing.jsonl"]
    cut, whole = read_capture(audio / "receiver.wav"), read_capture(folder / "audio" / "receiver.flac")
    assert cut.complete and 0 < len(cut.samples) <= len(whole.samples)
    assert "audio/receiver.flac: 0.0-10.0 s of the original" in (index.parent / "README.txt").read_text()
