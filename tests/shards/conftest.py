"""Small synthetic shard rows and a filled cache, shared by the shard tests."""

import json

import numpy as np
import pytest

from physllm.shards import open_cache, record_failure, write_video_shard

T = 16  # clip frames: small, with PhysNet-like feature scales T, T/2, T/4, T/8
FILE_METADATA = {"config": {"clip_frames": T}, "provenance": {"backbone_sha256": "ab" * 32},
                 "dataset_description": "Rendered faces with a known pulse."}


def make_rows(video_id: str, clips: int, t: int = T, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    dataset, subject, session = video_id.split("/")
    return [{
        "dataset": dataset, "subject": subject, "session": session, "video_id": video_id,
        "clip_index": i, "first_frame": i * t, "num_frames": t, "fps": 30.0,
        "ppg": rng.standard_normal(t, dtype=np.float32),
        "hr": None if i == 0 else 60.0 + i,
        "backbone_wave": rng.standard_normal(t, dtype=np.float32),
        **{f"feat_s{s}": rng.standard_normal((64, t >> (s - 1)), dtype=np.float32)
           for s in range(1, 5)},
        "rgb_mean": rng.random((t, 3), dtype=np.float32),
        "background_mean": rng.random((t, 3), dtype=np.float32),
        "face_fraction": 0.9, "roi": "face", "keyframe_index": i * t + t // 2,
        "description": f"clip {i}: even light",
        "stats_min": -1.0, "stats_max": 1.0, "stats_median": 0.0, "stats_trend": 0.5,
        "stats_lags": np.array([5, 10, 4, 6, 11], dtype=np.int32),
        "stats_text": "Input statistics: …",
        "metadata": json.dumps({"skin_tone": 3, "light": "steady"}),
    } for i in range(clips)]


@pytest.fixture
def settings():
    return {"backbone": {"name": "physnet-ubfc", "sha256": "ab" * 32}, "describer": "fast",
            "clip_frames": T}


@pytest.fixture
def filled_cache(tmp_path, settings):
    """A cache under tmp_path/cache with two done videos (3 and 2 clips) and one failed."""
    cache = open_cache(tmp_path / "cache", "synthetic", settings)
    write_video_shard(cache, "synthetic/subject1/s1", make_rows("synthetic/subject1/s1", 3), FILE_METADATA)
    write_video_shard(cache, "synthetic/subject2/s1", make_rows("synthetic/subject2/s1", 2, seed=1),
                      FILE_METADATA)
    record_failure(cache, "synthetic/subject3/s1", "video shorter than one clip")
    return cache


@pytest.fixture(name="make_rows")
def make_rows_fixture():
    return make_rows


@pytest.fixture(name="file_metadata")
def file_metadata_fixture():
    return FILE_METADATA
