"""The precompute job end to end on Ray (pipeline/job.py): shards, cache keys, failures, resume."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from physllm.cli import app
from physllm.data_catalog import scan
from physllm.model.physnet import PhysNet, feature_shapes
from physllm.pipeline.backbone import BackboneRunner
from physllm.pipeline.clips import ClipConfig, record_clips
from physllm.pipeline.face import FaceConfig
from physllm.errors import PhysllmError
from physllm.pipeline.job import PrecomputeConfig, cue_settings, run_precompute
from physllm.shards.cache import cache_key, load_cache, verify_cache
from physllm.shards.reader import open_shards
from physllm.shards.schema import shard_schema

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def backbone(random_physnet):
    return random_physnet


@pytest.fixture(scope="module")
def full_run(ray_local, synthetic_root, backbone, tmp_path_factory):
    """One uninterrupted run: the reference the other tests compare against."""
    cfg = PrecomputeConfig("synthetic", synthetic_root, cache_root=tmp_path_factory.mktemp("cache"),
                           backbone=backbone, batch_size=1)
    return cfg, run_precompute(cfg)


def shard_rows(cache_path: Path) -> dict:
    """(video_id, clip_index) → backbone_wave, over every shard file in the folder."""
    rows = {}
    for shard in sorted((cache_path / "shards").glob("*.parquet")):
        table = pq.read_table(shard)
        waves = table.column("backbone_wave").combine_chunks().to_numpy_ndarray()
        for vid, k, wave in zip(table.column("video_id").to_pylist(), table.column("clip_index").to_pylist(), waves):
            assert (vid, k) not in rows, f"duplicate row {vid} clip {k}"
            rows[(vid, k)] = wave
    return rows


def test_end_to_end_writes_every_video_with_the_shard_schema(full_run, synthetic_root, backbone):
    cfg, summary = full_run
    records = scan("synthetic", synthetic_root)
    assert (summary.videos_done, summary.videos_failed, summary.clips) == (4, 0, 12)  # 3 clips a video: the last overlapping
    shards = open_shards(summary.path)
    table = shards.read_video(records[0].video_id)
    assert table.schema.remove_metadata() == shard_schema(128, feature_shapes(128))
    assert table.column("clip_index").to_pylist() == [0, 1, 2]
    assert table.column("first_frame").to_pylist() == [0, 128, 172]  # the last clip ends on frame 299
    assert json.loads(table.column("metadata")[0].as_py())["source_fps"] == 30.0
    # the cues are PhysNet's output on exactly the clips iter_clips cuts
    clips = list(record_clips(records[0], ClipConfig()))
    expected = BackboneRunner(backbone).run(np.stack([c.frames for c in clips]))
    np.testing.assert_allclose(table.column("backbone_wave").combine_chunks().to_numpy_ndarray(),
                               expected.wave, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(table.column("ppg").combine_chunks().to_numpy_ndarray(),
                                  np.stack([c.ppg for c in clips]))
    assert all(table.column("description").to_pylist()) and all(table.column("stats_text").to_pylist())


def test_a_second_identical_run_computes_nothing_and_starts_no_ray_job(full_run, monkeypatch):
    cfg, first = full_run
    monkeypatch.setattr("physllm.pipeline.job._run_ray_job",
                        lambda *a, **k: pytest.fail("a cached run started the Ray job"))
    again = run_precompute(replace(cfg, batch_size=4, num_backbone_workers=2))  # not in the key
    assert (again.path, again.computed_videos, again.clips) == (first.path, 0, 12)


def test_a_shard_that_no_longer_matches_its_manifest_is_computed_again(full_run, tmp_path, capsys):
    cfg, first = full_run
    cache_root = tmp_path / "cache"
    shutil.copytree(cfg.cache_root, cache_root)
    cache = load_cache(cache_root / first.path.relative_to(cfg.cache_root))
    flipped, removed = [cache.shards_dir / e["shard"] for e in cache.manifest.done().values()][:2]
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    removed.unlink()
    again = run_precompute(replace(cfg, cache_root=cache_root))
    assert again.computed_videos == 2 and again.videos_done == 4
    warned = " ".join(capsys.readouterr().err.split())
    assert f"{flipped} does not match its recorded sha256" in warned and f"{removed} is missing" in warned
    assert verify_cache(again.path).ok
    recomputed, reference = shard_rows(again.path), shard_rows(first.path)
    assert recomputed.keys() == reference.keys()
    for key, wave in reference.items():
        np.testing.assert_allclose(recomputed[key], wave, rtol=1e-4, atol=1e-5)


def test_cue_changing_settings_make_a_new_key_and_scheduling_settings_do_not(full_run, backbone, tmp_path):
    cfg, _ = full_run
    provenance = {"name": "fast"}
    key = cache_key(cue_settings(cfg, backbone, provenance))
    assert key == cache_key(cue_settings(replace(cfg, batch_size=3, address="ray://x:1"), backbone, provenance))
    other_face = replace(cfg, clips=ClipConfig(face=FaceConfig(detect_every=8)))
    assert cache_key(cue_settings(other_face, backbone, provenance)) != key
    assert cache_key(cue_settings(cfg, backbone, {"name": "llava", "model": "m"})) != key
    torch.manual_seed(1)
    torch.save(PhysNet().state_dict(), tmp_path / "other.pth")
    assert cache_key(cue_settings(cfg, tmp_path / "other.pth", provenance)) != key


def damaged_copy(root: Path, out: Path, truncate: list[str], short_gt: list[str]) -> Path:
    shutil.copytree(root, out)
    for subject in truncate:  # the header still opens; decoding stops half way
        video = out / subject / "vid.avi"
        video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    for subject in short_gt:  # a ground truth that covers half the video
        gt = out / subject / "ground_truth.txt"
        lines = gt.read_text().splitlines()
        gt.write_text("\n".join(" ".join(line.split()[: len(line.split()) // 2]) for line in lines) + "\n")
    return out


def test_bad_videos_are_recorded_failed_and_the_others_go_on(ray_local, synthetic_root, backbone, tmp_path,
                                                            capsys):
    root = damaged_copy(synthetic_root, tmp_path / "data", truncate=["subject2"], short_gt=["subject3"])
    cfg = PrecomputeConfig("synthetic", root, cache_root=tmp_path / "cache", backbone=backbone)
    summary = run_precompute(cfg)
    warned = " ".join(capsys.readouterr().err.split())
    assert "warning: synthetic/subject2/vid skipped: VideoError" in warned
    assert "warning: synthetic/subject3/vid skipped: DatasetError" in warned
    assert summary.videos_done == 2
    failed = load_cache(summary.path).manifest.failed()
    assert sorted(failed) == ["synthetic/subject2/vid", "synthetic/subject3/vid"]
    assert "VideoError" in failed["synthetic/subject2/vid"]["reason"]
    assert "DatasetError" in failed["synthetic/subject3/vid"]["reason"]


def test_all_videos_failed_exits_2(ray_local, synthetic_root, backbone, tmp_path):
    subjects = [f"subject{i}" for i in range(1, 5)]
    root = damaged_copy(synthetic_root, tmp_path / "data", truncate=subjects, short_gt=[])
    result = CliRunner().invoke(app, ["precompute", "--dataset", "synthetic", "--root", str(root),
                                      "--cache-root", str(tmp_path / "cache"), "--backbone", str(backbone)])
    assert result.exit_code == 2, result.output
    assert "all 4 videos" in result.output


def test_resume_after_sigkill_gives_the_uninterrupted_shards(full_run, synthetic_root, backbone, tmp_path):
    cfg, reference = full_run
    cache_root = tmp_path / "cache"
    env = dict(os.environ, PHYSLLM_QUIET="1", RAY_ADDRESS="")
    command = [sys.executable, "-m", "physllm.cli", "precompute", "--dataset", "synthetic",
               "--root", str(synthetic_root), "--cache-root", str(cache_root), "--backbone", str(backbone),
               "--batch-size", "1"]
    proc = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = cache_root / "synthetic" / reference.key / "manifest.json"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if manifest.exists() and load_cache(manifest.parent).manifest.done():
                break
            time.sleep(0.05)
        done_at_kill = len(load_cache(manifest.parent).manifest.done())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
        proc.wait()
    assert 1 <= done_at_kill < 4, "the run was not interrupted between videos"
    resumed = run_precompute(replace(cfg, cache_root=cache_root))
    assert resumed.computed_videos == 4 - done_at_kill
    got, want = shard_rows(resumed.path), shard_rows(reference.path)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-5)


def test_end_to_end_with_the_tiny_llava_describer(full_run, tiny_llava_dir, tmp_path):
    cfg, fast = full_run
    summary = run_precompute(replace(cfg, cache_root=tmp_path, describer="llava",
                                     describer_model=str(tiny_llava_dir)))
    assert summary.key != fast.key and (summary.videos_done, summary.clips) == (4, 12)
    settings = load_cache(summary.path).settings
    assert settings["describer"]["name"] == "llava"
    descriptions = open_shards(summary.path).read_video("synthetic/subject1/vid").column("description")
    assert len(descriptions) == 3 and all(isinstance(d, str) for d in descriptions.to_pylist())


def test_a_job_waiting_on_resources_says_so_and_stops_at_its_timeout(ray_local, synthetic_root, backbone,
                                                                     tmp_path, capsys):
    """Every CPU held by someone else: the workers cannot start; the job says what it waits for
    and stops after wait_timeout_s instead of hanging."""
    from ray.util.placement_group import placement_group, remove_placement_group

    held = placement_group([{"CPU": ray_local.cluster_resources()["CPU"]}])
    ray_local.get(held.ready(), timeout=30)
    cfg = PrecomputeConfig("synthetic", synthetic_root, cache_root=tmp_path, backbone=backbone, wait_timeout_s=6)
    started = time.time()
    try:
        with pytest.raises(PhysllmError, match="made no progress for 6 s") as error:
            run_precompute(cfg)
    finally:
        remove_placement_group(held)
    assert time.time() - started < 30
    assert "0 of 2 CueWorkers started, 2 not started yet (loading, or waiting for {'CPU': 0.75} on their node)" in str(error.value)
    assert "free on the cluster now: CPU 0" in str(error.value)
    assert "waiting 3 s: 0 of 2 CueWorkers started" in " ".join(capsys.readouterr().err.split())
