"""physllm/evaluation/report.py: per-video HR, metrics per method and group, joined clips, the
report's files (its tables: tests/test_tables.py)."""

import csv
import json

import numpy as np
import pytest

from physllm import pulse
from physllm.errors import CacheError
from physllm.evaluation.report import (VideoSignals, evaluate_videos, join_clips, scenario_keys,
                                       signals_from_shards, write_report)
from physllm.shards import open_cache, open_shards, write_video_shard

FPS = 30.0
SECONDS = 20


def wave(bpm, seconds=SECONDS, fps=FPS):
    t = np.arange(int(seconds * fps)) / fps
    return np.sin(2 * np.pi * bpm / 60 * t)


def make_video(i, bpm, light, skin_tone, dataset="synthetic"):
    truth = wave(bpm) + 0.1 * wave(2 * bpm)
    return VideoSignals(
        video_id=f"{dataset}/s{i}/0", dataset=dataset, fps=FPS,
        metadata={"light": light, "skin_tone": skin_tone, "landmarks": [i, i]},
        truth_ppg=truth,
        methods={"physnet": pulse.diff_normalize_label(truth),  # exact, DiffNormalized
                 "pos": wave(bpm + 6)},  # 6 bpm too fast everywhere
        diff_methods={"physnet"})


VIDEOS = [make_video(0, 66, "dim", 3), make_video(1, 78, "dim", 5),
          make_video(2, 90, "bright", 5), make_video(3, 102, "bright", 3, dataset="other")]


@pytest.fixture(scope="module")
def report():
    return evaluate_videos(VIDEOS)


def row(report, method, group="all", level="all", hr_method="fft"):
    (m,) = [m for m in report.select(hr_method, group)
            if m["method"] == method and m["level"] == level]
    return m


def test_per_video_hr_and_errors(report):
    assert len(report.per_video) == len(VIDEOS) * 2
    assert report.methods == ["physnet", "pos"]
    resolution = 60 * FPS / pulse.next_power_of_two(SECONDS * int(FPS))  # bpm per FFT bin
    for r in report.per_video:
        assert r["hr_fft"] == pytest.approx(r["true_hr_fft"] + (6 if r["method"] == "pos" else 0),
                                            abs=resolution)
        assert r["hr_peak"] == pytest.approx(r["true_hr_peak"] + (6 if r["method"] == "pos" else 0),
                                             abs=0.5)
    assert row(report, "physnet")["mae"] < 0.5
    assert row(report, "physnet", hr_method="peak")["mae"] < 0.5
    assert row(report, "pos")["mae"] == pytest.approx(6, abs=resolution)
    assert row(report, "physnet")["snr"] > row(report, "pos")["snr"] + 10


def test_groups_per_dataset_and_scenario_label(report):
    assert report.scenario_keys == ["light", "skin_tone"]  # a list is not a scenario label
    light = {(m["level"], m["n"]) for m in report.select("fft", "light")}
    assert light == {("dim", 2), ("bright", 2)}
    assert {(m["level"], m["n"]) for m in report.select("fft", "skin_tone")} == {("3", 2), ("5", 2)}
    assert row(report, "pos", "dataset", "synthetic")["n"] == 3
    assert row(report, "pos", "dataset", "other")["n"] == 1


def test_scenario_keys_skip_identifiers():
    videos = [VideoSignals(f"v{i}", "d", FPS, {"index": i, "lux": [1.0, 1.6][i % 2]},
                           np.zeros(1), {}) for i in range(20)]
    assert scenario_keys(videos) == ["lux"]
    for v, lux in zip(videos, [10.0, 1.6] * 10):
        v.metadata["lux"], v.truth_ppg, v.methods = lux, wave(70), {"pos": wave(70)}
    levels = [m["level"] for m in evaluate_videos(videos).select("fft", "lux")]
    assert levels == ["1.6", "10.0"]  # numeric order, not text order


def test_evaluation_windows():
    report = evaluate_videos(VIDEOS[:1], window_seconds=5)
    starts = [r["start_frame"] for r in report.per_video if r["method"] == "pos"]
    assert starts == [0, 150, 300, 450]
    assert row(report, "pos")["n"] == 4


def test_length_mismatch_is_an_error():
    video = make_video(0, 70, "dim", 3)
    video.methods["pos"] = video.methods["pos"][:-1]
    with pytest.raises(ValueError, match="pos has 599 samples"):
        evaluate_videos([video])


def test_write_report(report, tmp_path):
    paths = write_report(report, tmp_path / "out")
    summary = json.loads(paths["json"].read_text())  # strict JSON: nan written as null
    assert summary["methods"] == ["physnet", "pos"]
    assert summary["settings"]["band_hz"] == [pulse.LOW_HZ, pulse.HIGH_HZ]
    with paths["per_video"].open() as f:
        per_video = list(csv.DictReader(f))
    assert len(per_video) == 8 and per_video[0]["meta_light"] == "dim"
    with paths["metrics"].open() as f:
        metrics = list(csv.DictReader(f))
    assert len(metrics) == len(report.metrics)
    assert {m["group"] for m in metrics} == {"all", "dataset", "light", "skin_tone"}


def test_join_clips_orders_by_first_frame():
    joined = join_clips([4, 0, 8], [np.full(4, 1.0), np.full(4, 0.0), np.full(2, 2.0)])
    np.testing.assert_array_equal(joined, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    rgb = join_clips([3, 0], [np.ones((3, 3)), np.zeros((3, 3))])
    assert rgb.shape == (6, 3) and rgb[0].sum() == 0 and rgb[3].sum() == 3


def test_join_clips_refuses_a_gap():
    with pytest.raises(ValueError, match="gap at frame 4"):
        join_clips([0, 5], [np.zeros(4), np.zeros(4)])


def test_an_overlapping_last_clip_adds_only_the_frames_past_the_previous_one():
    clips = [np.full(4, 0.0), np.full(4, 1.0), np.array([7.0, 7.0, 2.0, 2.0])]
    np.testing.assert_array_equal(join_clips([0, 4, 6], clips), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(join_clips([0, 4, 6], clips, keep_tail=False), [0] * 4 + [1] * 4)


def clip_rows(video_id, truth, rgb, clip=128, drop=None, roi="face"):
    """Shard rows of one video, clips of 128 frames, stored out of frame order."""
    rows = []
    for k, start in enumerate(range(0, len(truth) - clip + 1, clip)):
        if k == drop:
            continue
        span = slice(start, start + clip)
        rows.append({
            "dataset": "synthetic", "subject": "s0", "session": "0", "video_id": video_id,
            "clip_index": k, "first_frame": start, "num_frames": clip, "fps": FPS,
            "ppg": truth[span], "hr": None,
            "backbone_wave": pulse.diff_normalize_label(truth[span]),
            "feat_s1": np.zeros((64, 4)), "rgb_mean": rgb[span],
            "background_mean": np.full((clip, 3), np.nan, np.float32), "face_fraction": 1.0, "roi": roi,
            "keyframe_index": start, "description": "", "stats_min": 0.0, "stats_max": 0.0,
            "stats_median": 0.0, "stats_trend": 0.0, "stats_lags": np.zeros(5, np.int32),
            "stats_text": "", "metadata": json.dumps({"light": "dim"})})
    return rows[::-1]


def write_cache(root, rows):
    cache = open_cache(root, "synthetic", {"clip_frames": 128})
    write_video_shard(cache, rows[0]["video_id"], rows, {"config": {"clip_frames": 128}})
    return open_shards(cache.path)


def test_signals_from_shards(tmp_path):
    bpm = 75.0
    truth = wave(bpm, seconds=512 / FPS)
    rgb = np.array([180.0, 120.0, 90.0]) * (1 + 0.003 * truth[:, None] * [0.33, 0.77, 0.53])
    shards = write_cache(tmp_path, clip_rows("synthetic/s0/0", truth, rgb))
    prediction = pulse.diff_normalize_label(truth)
    (video,) = signals_from_shards(shards, predictions={"synthetic/s0/0": prediction})
    assert video.fps == FPS and video.metadata == {"light": "dim", "roi": "face"} and video.dataset == "synthetic"
    np.testing.assert_allclose(video.truth_ppg, truth, rtol=1e-6, atol=1e-6)
    assert set(video.methods) == {"physllm", "physnet", "green", "chrom", "pos"}
    assert video.diff_methods == {"physllm", "physnet"}
    report = evaluate_videos([video])
    for m in report.select("fft"):
        assert m["mae"] < 2, m["method"]


def test_the_report_breaks_results_down_by_the_region_each_video_was_read_from(tmp_path):
    truth = wave(75.0, seconds=256 / FPS)
    rgb = np.array([180.0, 120.0, 90.0]) * (1 + 0.003 * truth[:, None] * [0.33, 0.77, 0.53])
    write_cache(tmp_path, clip_rows("synthetic/s0/0", truth, rgb))
    shards = write_cache(tmp_path, clip_rows("synthetic/s1/0", truth, rgb, roi="skin"))
    videos = signals_from_shards(shards)
    assert sorted(v.metadata["roi"] for v in videos) == ["face", "skin"]
    report = evaluate_videos(videos)
    assert "roi" in report.scenario_keys
    assert {(m["level"], m["n"]) for m in report.select("fft", "roi") if m["method"] == "pos"} == {("face", 1), ("skin", 1)}


def test_signals_from_shards_reports_a_missing_clip(tmp_path):
    truth = wave(75.0, seconds=512 / FPS)
    rows = clip_rows("synthetic/s0/0", truth, np.ones((len(truth), 3)), drop=1)
    shards = write_cache(tmp_path, rows)
    with pytest.raises(CacheError, match="synthetic/s0/0 .*gap at frame 128"):
        signals_from_shards(shards)


def vitals_videos() -> list[VideoSignals]:
    """Three rendered pulses: an exact DiffNormalized copy of each (physnet) and noise (green)."""
    from physllm.render.ppg import draw_pulse_params, synthesize_ppg

    videos = []
    for i in range(3):
        rng = np.random.default_rng(i + 2)
        truth = synthesize_ppg(draw_pulse_params(rng, (45.0, 150.0)), 40.0, FPS, rng).ppg
        videos.append(VideoSignals(f"synthetic/s{i}/0", "synthetic", FPS, {}, truth,
                                   {"physnet": pulse.diff_normalize_label(truth),
                                    "green": rng.standard_normal(truth.size)}, {"physnet"}))
    return videos


def test_vitals_errors_against_the_truths_own_and_refusals_counted(tmp_path):
    """The exact DiffNormalized copy reads the truth's HRV and breathing; noise is refused."""
    report = evaluate_videos(vitals_videos())
    rows = {(m["method"], m["vital"]): m for m in report.vitals}
    for vital in ("sdnn_ms", "rmssd_ms", "pnn50"):
        assert rows["physnet", vital]["n"] == 3 and rows["physnet", vital]["mae"] < 1.0
        assert rows["green", vital]["n"] == 0 and rows["green", vital]["refused"] == 3
    assert rows["physnet", "breathing_rpm"]["n"] >= 2 and rows["physnet", "breathing_rpm"]["mae"] < 0.5
    per_video = [r for r in report.per_video if r["method"] == "physnet"]
    assert all(r["true_hrv_flag"] == "ok" and r["sdnn_ms"] > 0 for r in per_video)

    paths = write_report(report, tmp_path)
    with paths["vitals"].open() as f:
        assert {(r["method"], r["vital"]) for r in csv.DictReader(f)} == set(rows)
    assert json.loads(paths["json"].read_text())["vitals"]


def test_evaluate_videos_reads_a_generator_one_video_at_a_time():
    """evaluate.py streams videos from the shards: each video's signals may go once it is scored."""
    import gc
    import weakref

    seen = []

    def videos():
        for video in VIDEOS:
            copy = VideoSignals(video.video_id, video.dataset, video.fps, dict(video.metadata),
                                video.truth_ppg.copy(), dict(video.methods), set(video.diff_methods))
            seen.append(weakref.ref(copy))
            del video
            yield copy
            gc.collect()
            assert all(ref() is None for ref in seen[:-1]), "an earlier video's signals are still held"

    streamed = evaluate_videos(videos())
    listed = evaluate_videos(VIDEOS)
    assert json.dumps(streamed.metrics) == json.dumps(listed.metrics)
    assert streamed.scenario_keys == listed.scenario_keys and streamed.settings == listed.settings
    with pytest.raises(ValueError, match="no videos"):
        evaluate_videos(iter([]))
