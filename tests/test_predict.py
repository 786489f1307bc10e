"""`physllm predict` on videos written to disk: known HR, windows, flags, files, bad inputs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from physllm.cli import app
from physllm import pulse
from physllm.data_catalog import scan
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset
from physllm.data_catalog.video_io import open_video
from physllm.predict import (BaselineEstimator, EstimatorConfig, WindowConfig, make_estimator, predict_video,
                             read_ahead)
from tests.pipeline.test_clips import skin_shape_video, skin_video

runner = CliRunner()
SHARED_WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights" / "rppg-toolbox"


def write_avi(path: Path, frames, fps: float = 30.0) -> Path:
    frames = list(frames)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                             (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def easy_video(tmp_path_factory) -> tuple[Path, float]:
    """One easy rendered subject (a face before a textured background), 20 s (five clips, the
    last overlapping; eleven 10 s windows), and its HR read from its ground-truth PPG."""
    root = tmp_path_factory.mktemp("predict_data")
    # a ~1% pulse, twice the largest of a real face: a 160×120 frame holds a quarter of a webcam's skin
    # pixels, and these tests are of the read-out (every window, its beats, its vitals), not of noise
    write_synthetic_dataset(root, SynthConfig(num_subjects=1, seconds=20.0, width=160, height=120,
                                              seed=11, easy_fraction=1.0, pulse_amplitude_range=(0.008, 0.016)))
    record = scan("synthetic", root)[0]
    return record.path, pulse.hr_fft(pulse.to_pulse(record.ppg(), record.fps), record.fps)


@pytest.fixture(scope="module")
def faceless_middle(easy_video, tmp_path_factory) -> Path:
    """The easy video with frames 200–399 blanked: clip 2 (frames 256–383) has no face at all."""
    frames = [f if not 200 <= i < 400 else np.zeros_like(f)
              for i, f in enumerate(open_video(easy_video[0]))]
    return write_avi(tmp_path_factory.mktemp("faceless") / "faceless.avi", frames)


@pytest.mark.parametrize("method", ["pos", "chrom"])  # GREEN has no defence against light changes
def test_the_baselines_read_a_face_before_a_textured_background_within_2_bpm(easy_video, method):
    video, true_hr = easy_video
    pred = predict_video(video, BaselineEstimator(method))
    assert abs(pred.hr_bpm - true_hr) < 2.0 and pred.video.reliable


def test_pos_reads_every_frame_and_every_window(easy_video):
    video, true_hr = easy_video
    pred = predict_video(video, BaselineEstimator("pos"))
    assert len(pred.pulse) == 600 and pred.roi == "face"  # the tail clip: no frame dropped
    assert [w.start_s for w in pred.windows] == pytest.approx(list(range(11)))
    assert all(w.reliable and abs(w.hr_bpm - true_hr) < 4.0 for w in pred.windows)
    assert all(abs(w.hr_peaks_bpm - true_hr) < 6.0 for w in pred.windows)
    assert all(0.5 < w.confidence <= 1.0 for w in pred.windows)


@pytest.mark.parametrize("seconds", [7, 12])
def test_a_short_video_gets_a_heart_rate(easy_video, tmp_path, seconds):
    video, true_hr = easy_video
    short = write_avi(tmp_path / "short.avi", list(open_video(video))[:seconds * 30])
    pred = predict_video(short, BaselineEstimator("pos"))
    assert len(pred.pulse) == seconds * 30 and abs(pred.hr_bpm - true_hr) < 3.0
    if seconds < 10:
        assert len(pred.windows) == 1 and pred.windows[0].end_s == pytest.approx(seconds)
        assert any("shorter than the 10 s window" in note for note in pred.notes)


def test_a_15_fps_video_reads_as_its_30_fps_original(easy_video, tmp_path):
    video, _ = easy_video
    slow = write_avi(tmp_path / "slow.avi", list(open_video(video))[::2], fps=15.0)
    original, halved = (predict_video(v, BaselineEstimator("pos")) for v in (video, slow))
    assert halved.source_fps == 15.0 and halved.fps == 30.0
    assert any("resampled from 15.00 to 30 fps" in note for note in halved.notes)
    assert abs(halved.hr_bpm - original.hr_bpm) < 1.0


def test_a_variable_rate_video_is_read_on_its_time_stamps(easy_video, tmp_path):
    """Frames kept at irregular times (phone-like jitter, 20–30 fps) with their true time stamps."""
    av = pytest.importorskip("av")
    import fractions

    video, _ = easy_video
    frames = list(open_video(video))
    rng = np.random.default_rng(3)
    keep, t = [], 0.0
    while t < 19.9:
        keep.append(int(round(t * 30)))
        t += rng.uniform(1 / 30, 1 / 20)
    path = tmp_path / "vfr.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=1000)
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    stream.codec_context.time_base = fractions.Fraction(1, 1000)
    stream.codec_context.bit_rate = 4_000_000
    for index in keep:
        frame = av.VideoFrame.from_ndarray(frames[index], format="rgb24")
        frame.pts, frame.time_base = round(index / 30 * 1000), fractions.Fraction(1, 1000)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    original, jittered = (predict_video(v, BaselineEstimator("pos")) for v in (video, path))
    assert abs(jittered.duration_s - original.duration_s) < 0.2
    assert abs(jittered.hr_bpm - original.hr_bpm) < 1.0


@pytest.mark.parametrize("roi", ["none", "auto"])
def test_a_skin_only_crop_gets_its_heart_rate(tmp_path, roi):
    video = write_avi(tmp_path / "cheek.avi", skin_video(seconds=12.0, bpm=72.0))
    pred = predict_video(video, make_estimator(EstimatorConfig(baseline="pos", roi=roi)))
    assert pred.roi == "none" and abs(pred.hr_bpm - 72.0) < 1.0
    assert any("whole frame was read as skin" in note for note in pred.notes)


@pytest.mark.parametrize("renderer, tone", [("synthetic", "V"), ("synthetic", "VI"), ("synthetic2", "VI")])
def test_the_darkest_skin_types_get_a_sane_heart_rate(tmp_path, renderer, tone):
    from physllm.render import synthetic, synthetic2
    from physllm.render.face import Scenario

    folder = tmp_path / tone
    if renderer == "synthetic":
        cfg = SynthConfig(seconds=10.0, width=160, height=120, seed=3)
        synthetic.render_subject(folder, cfg, 0, Scenario(tone, "bright", "still", "low", "high"))
    else:
        cfg = synthetic2.Synth2Config(seconds=10.0, seed=3)
        synthetic2.render_subject(folder, cfg, 0, synthetic2.Conditions(tone, "none", "auto", "fixed", "still"))
    truth = np.array((folder / "ground_truth.txt").read_text().splitlines()[0].split(), dtype=float)
    pred = predict_video(folder / "vid.avi", BaselineEstimator("pos"))
    assert pred.roi in ("face", "skin")
    assert abs(pred.hr_bpm - pulse.hr_fft(pulse.to_pulse(truth, 30.0), 30.0)) < 5.0


def test_a_face_the_detector_misses_is_read_from_its_skin_and_says_so(tmp_path):
    video = write_avi(tmp_path / "unseen.avi", skin_shape_video(seconds=12.0, bpm=72.0))
    pred = predict_video(video, BaselineEstimator("pos"))
    assert pred.roi == "skin" and abs(pred.hr_bpm - 72.0) < 2.0
    assert "no face found: read the largest skin region" in pred.notes


def test_windows_over_a_faceless_stretch_are_flagged_and_keep_their_number(faceless_middle):
    pred = predict_video(faceless_middle, BaselineEstimator("pos"))
    flagged = [w for w in pred.windows if w.flag == "no_face"]
    assert flagged, "the blanked stretch must flag some windows"
    assert all(not w.reliable and np.isfinite(w.hr_bpm) and w.confidence == 0.0 for w in flagged)
    assert all(w.face_fraction < WindowConfig().min_face_fraction for w in flagged)
    assert pred.windows[0].flag != "no_face"  # frames 0–299 mostly have a face
    assert pred.face[300] == 0.0 and pred.face[0] == 1.0  # clip 2 is faceless, clip 0 is not
    assert np.isfinite(pred.hr_bpm)


def test_cli_writes_json_csv_and_png_for_each_video(easy_video, tmp_path):
    video, true_hr = easy_video
    result = runner.invoke(app, ["predict", str(video), "--baseline", "chrom", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "vid.json").read_text())
    assert summary["method"] == "chrom" and abs(summary["hr_bpm"] - true_hr) < 3.0
    assert summary["video"]["reliable"] is True and 0 < summary["video"]["confidence"] <= 1
    assert summary["source_fps"] == 30.0 and summary["roi"] == "face"
    assert len(summary["waveform"]["values"]) == 600
    with (tmp_path / "vid_windows.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(summary["windows"]) == 11
    assert set(rows[0]) >= {"start_s", "end_s", "hr_bpm", "hr_peaks_bpm", "snr_db", "confidence",
                            "reliable", "flag"}
    with (tmp_path / "vid_waveform.csv").open() as f:
        assert next(csv.reader(f)) == ["time_s", "pulse_bandpassed", "pulse_raw", "face_fraction"]
    assert (tmp_path / "vid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_waveform_written_is_the_one_the_heart_rate_is_read_from(faceless_middle, easy_video, tmp_path):
    """Over a faceless stretch too: the FFT peak of the CSV's `pulse_bandpassed` is the reported
    whole-video HR, and `pulse_raw` band-passed (faceless frames zeroed) gives that column."""
    result = runner.invoke(app, ["predict", str(faceless_middle), "--baseline", "pos", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "faceless.json").read_text())
    with (tmp_path / "faceless_waveform.csv").open() as f:
        rows = list(csv.DictReader(f))
    wave, raw, face = (np.array([float(r[k]) for r in rows]) for k in ("pulse_bandpassed", "pulse_raw", "face_fraction"))
    assert (face == 0).sum() >= 128 and np.all(wave[face == 0] == 0)
    assert abs(summary["hr_bpm"] - easy_video[1]) < 2.0
    assert pulse.hr_fft(wave, 30.0) == pytest.approx(summary["hr_bpm"], abs=1e-3)
    assert pulse.snr_db(wave, 30.0, summary["hr_bpm"]) == pytest.approx(summary["video"]["snr_db"], abs=1e-3)
    assert pulse.hr_fft(np.array(summary["waveform"]["values"]), 30.0) == pytest.approx(summary["hr_bpm"], abs=1e-2)
    assert np.allclose(np.where(face > 0, pulse.to_pulse(raw, 30.0), 0.0), wave, atol=1e-5)


def test_bad_videos_exit_2_with_a_clear_message_and_the_good_one_still_runs(easy_video, tmp_path):
    video, _ = easy_video
    short = write_avi(tmp_path / "short.avi", list(open_video(video))[:90])  # 3 s
    faceless = write_avi(tmp_path / "noface.avi", [np.full((120, 160, 3), 128, np.uint8)] * 400)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(short), str(faceless), str(garbage), str(video),
                                 "--baseline", "pos", "--out", str(out)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"{short}: 90 frames at 30.0 fps, shorter than one 128-frame clip" in text
    assert f"{faceless}: no face found" in text
    assert f"{garbage}: cannot open this video" in text
    assert (out / "vid.json").is_file()  # the good video of the batch still ran


def test_no_method_named_reads_with_pos_and_says_why(easy_video, tmp_path):
    video, true_hr = easy_video
    result = runner.invoke(app, ["predict", str(video), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "vid.json").read_text())
    assert summary["method"] == "pos" and abs(summary["hr_bpm"] - true_hr) < 2.0
    text = " ".join(result.output.split())
    assert "note: no --checkpoint, --baseline or --backbone given: read with POS" in text
    assert any("read with POS" in note for note in summary["notes"])


@pytest.mark.skipif(not SHARED_WEIGHTS.is_dir(), reason=f"rPPG-Toolbox's weights not at {SHARED_WEIGHTS}")
def test_a_released_name_reads_the_video_with_that_physnet(easy_video, tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSLLM_WEIGHTS", str(SHARED_WEIGHTS))  # the cache already holds the files
    result = runner.invoke(app, ["predict", str(easy_video[0]), "--backbone", "ubfc-rppg", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "vid.json").read_text())
    assert summary["method"] == "physnet" and np.isfinite(summary["hr_bpm"]) and len(summary["windows"]) == 11


@pytest.mark.parametrize("args", [["--baseline", "pos", "--checkpoint", "x"], ["--baseline", "ica"]])
def test_method_choice_errors_exit_2(easy_video, tmp_path, args):
    result = runner.invoke(app, ["predict", str(easy_video[0]), "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert "error:" in result.output


def test_a_trained_checkpoint_runs_through_the_same_cue_path_as_precompute(
        ray_local, synthetic_root, tiny_bert_dir, random_physnet, easy_video, tmp_path):
    """precompute (Ray) → train two steps → predict: the checkpoint finds its backbone and
    describer from its training record and produces a waveform per window."""
    from physllm.pipeline.job import PrecomputeConfig, run_precompute
    from physllm.train.run import train
    from physllm.config import build
    from physllm.train.trainer import TrainConfig
    from tests.fixtures.tiny_models import tiny_physllm_config

    backbone = Path(shutil.copy(random_physnet, tmp_path / "physnet.pth"))  # this test moves it
    cache = run_precompute(PrecomputeConfig("synthetic", synthetic_root, cache_root=tmp_path / "cache",
                                            backbone=backbone)).path
    tiny = tiny_physllm_config(tiny_bert_dir).to_dict()
    result = train(build(TrainConfig, dict(shards=[str(cache)], out=str(tmp_path / "run"), llm=str(tiny_bert_dir),
                                           model={k: tiny[k] for k in ("head_channels", "lora_r", "va", "tpg", "apl")},
                                           epochs=1, batch_size=2)))
    out = tmp_path / "pred"
    cli = runner.invoke(app, ["predict", str(easy_video[0]), "--checkpoint", str(result.last_checkpoint),
                              "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    summary = json.loads((out / "vid.json").read_text())
    assert summary["method"] == "physllm" and len(summary["windows"]) == 11
    assert np.isfinite(summary["waveform"]["values"]).all()

    backbone.rename(tmp_path / "moved.pth")  # the backbone is gone from where training recorded it
    cli = runner.invoke(app, ["predict", str(easy_video[0]), "--checkpoint", str(result.last_checkpoint),
                              "--out", str(out)])
    assert cli.exit_code == 2 and "--backbone" in cli.output
    cli = runner.invoke(app, ["predict", str(easy_video[0]), "--checkpoint", str(result.last_checkpoint),
                              "--backbone", str(tmp_path / "moved.pth"), "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    other = tmp_path / "other.pth"
    other.write_bytes(backbone.with_name("moved.pth").read_bytes() + b"\0")  # another file
    cli = runner.invoke(app, ["predict", str(easy_video[0]), "--checkpoint", str(result.last_checkpoint),
                              "--backbone", str(other), "--out", str(out)])
    assert cli.exit_code == 2 and "not the backbone this checkpoint was trained with" in cli.output

    # predict folds the trained LoRA into the LLM's weights: the same outputs as the model trained
    import torch

    from physllm.model.checkpoint import load_trainable
    from physllm.predict import PhysLLMEstimator

    merged = PhysLLMEstimator(result.last_checkpoint, backbone=tmp_path / "moved.pth", device="cpu").model
    trained = load_trainable(result.last_checkpoint)
    assert any(p.abs().sum() > 0 for n, p in trained.llm.named_parameters() if "lora_B" in n)  # LoRA moved
    torch.manual_seed(0)
    wave, chroma = torch.randn(2, 128), torch.randn(2, 128)
    features = [torch.randn(2, 64, 128 // s) for s in trained.cfg.feature_strides]
    cues = trained.tokenize_cues({cue: ["a face in daylight"] * 2 for cue in trained.cfg.apl.cue_types})
    with torch.inference_mode():
        torch.testing.assert_close(merged(wave, features, cues, chroma), trained(wave, features, cues, chroma),
                                   rtol=1e-4, atol=1e-4)


def test_read_ahead_keeps_order_raises_where_the_producer_failed_and_stops_when_closed():
    import threading
    import time

    assert list(read_ahead(iter(range(5)))) == [0, 1, 2, 3, 4]

    def failing():
        yield 1
        raise ValueError("broken video")

    got = []
    with pytest.raises(ValueError, match="broken video"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1]

    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    reader = read_ahead(endless(), depth=1)
    assert next(reader) == 0
    reader.close()
    time.sleep(0.5)
    assert not any(t.name == "physllm-read-ahead" and t.is_alive() for t in threading.enumerate())
    assert len(produced) <= 3  # one taken, at most one waiting, one being put when stopped


def test_vitals_per_window_and_per_video_beside_the_heart_rate(easy_video, tmp_path):
    """POS's vitals on the easy video: HRV in every reliable window, whole-video HRV and breathing
    read or refused with a flag, all in the JSON and the terminal."""
    from physllm.data_catalog.ubfc_rppg import read_ground_truth
    from physllm.vitals import vitals

    video, _ = easy_video
    pred = predict_video(video, BaselineEstimator("pos"))
    assert {w.hrv_flag for w in pred.windows} <= {"ok", "noisy_beats", "too_few_beats", "irregular", "low_snr"}
    for w in pred.windows:  # a number exactly where the flag is "ok"
        assert (w.rmssd_ms is not None) == (w.sdnn_ms is not None) == (w.hrv_flag == "ok")
        assert w.hrv_flag != "ok" or (w.rmssd_ms > 0 and 0 <= w.pnn50 <= 100)
    truth = vitals(read_ground_truth(video.parent / "ground_truth.txt").ppg, 30.0)
    assert truth.hrv_flag == "ok" and pred.vitals.hrv_flag in {"ok", "noisy_beats"}
    assert abs(pred.vitals.hr_bpm - truth.hr_bpm) < 3.0  # the beats themselves are found
    # all 600 frames are read (20 s, what breathing needs): a rate exactly where the flag is "ok"
    assert (pred.vitals.breathing_rpm is not None) == (pred.vitals.breathing_flag == "ok")
    short = predict_video(write_avi(tmp_path / "short.avi", list(open_video(video))[:450]), BaselineEstimator("pos"))
    assert short.vitals.breathing_flag == "too_short" and short.vitals.breathing_rpm is None

    result = runner.invoke(app, ["predict", str(video), "--baseline", "pos", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "vid.json").read_text())
    assert summary["vitals"]["hrv_flag"] == pred.vitals.hrv_flag and summary["vitals"]["beats"] > 20
    assert {"sdnn_ms", "rmssd_ms", "pnn50", "hrv_flag"} <= set(summary["windows"][0])
    text = " ".join(result.output.split())
    assert "HRV (" in text and f"breathing {'not read' if pred.vitals.breathing_flag != 'ok' else ''}" in text


def test_predict_says_what_the_fallback_chose():
    from physllm.cues.quality import INPUTS_LIT
    from physllm.predict.estimators import fallback_note

    assert fallback_note("physllm", 6.0) is None
    assert "frozen PhysNet" in fallback_note("physnet", 6.0) and "6 bpm" in fallback_note("chroma", 6.0)
    assert "the light's" in fallback_note(INPUTS_LIT, 6.0)
