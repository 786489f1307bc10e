"""Tiny shard caches for the trainer's tests, written with the real shard writer.

Each video carries a clean pulse at its own heart rate; the "backbone" wave is that pulse's
DiffNormalized label plus noise, so a model can learn to denoise it in a few steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from physllm import pulse
from physllm.shards.cache import open_cache
from physllm.shards.writer import write_video_shard
from tests.fixtures.tiny_models import tiny_physllm_config

CLIP_FRAMES = 32
FPS = 30.0
FEATURE_STRIDES = (1, 2, 4, 4)  # PhysNet's encoder stages


def clip_rows(dataset: str, subject: str, clips: int, hr_bpm: float, rng: np.random.Generator,
              t: int = CLIP_FRAMES) -> list[dict]:
    video_id = f"{dataset}/{subject}/s1"
    frames = np.arange(clips * t) / FPS
    ppg = np.sin(2 * np.pi * hr_bpm / 60 * frames).astype(np.float32)
    rows = []
    for i in range(clips):
        span = slice(i * t, (i + 1) * t)
        wave = pulse.diff_normalize_label(ppg[span]) + 0.3 * rng.standard_normal(t)
        rows.append({
            "dataset": dataset, "subject": subject, "session": "s1", "video_id": video_id,
            "clip_index": i, "first_frame": i * t, "num_frames": t, "fps": FPS,
            "ppg": ppg[span], "hr": hr_bpm, "backbone_wave": wave.astype(np.float32),
            **{f"feat_s{s + 1}": rng.standard_normal((64, t // stride)).astype(np.float32)
               for s, stride in enumerate(FEATURE_STRIDES)},
            "rgb_mean": (120 + ppg[span, None] * np.array([0.2, 1.0, 0.3])).astype(np.float32),
            "background_mean": np.full((t, 3), 80, np.float32),  # a still room
            "face_fraction": 1.0, "roi": "face", "keyframe_index": i * t + t // 2,
            "description": f"The forehead and cheeks are evenly lit; subject {subject}.",
            "stats_min": float(wave.min()), "stats_max": float(wave.max()),
            "stats_median": float(np.median(wave)), "stats_trend": 1.0,
            "stats_lags": np.array([0, 8, 16, 24, 31], dtype=np.int32),
            "stats_text": f"Input statistics: min value {wave.min():.2f}, max value {wave.max():.2f}",
            "metadata": json.dumps({"light": "steady" if int(subject[1:]) % 2 else "dim"}),
        })
    return rows


def write_cache(root: Path, dataset: str = "synthetic", videos: int = 10, clips: int = 6,
                seed: int = 0, settings: dict | None = None, t: int = CLIP_FRAMES) -> Path:
    """A cache of `videos` one-session subjects × `clips` clips; returns its folder."""
    rng = np.random.default_rng(seed)
    cache = open_cache(root, dataset, settings or {"clip_frames": t, "seed": seed})
    meta = {"config": {"clip_frames": t}, "provenance": {"test": True},
            "dataset_description": f"Test videos of the {dataset} dataset."}
    for v in range(videos):
        hr = 60 + 6 * v
        rows = clip_rows(dataset, f"p{v + 1}", clips, hr, rng, t)
        write_video_shard(cache, rows[0]["video_id"], rows, meta)
    return cache.path


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    return write_cache(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def tiny_model_overrides(tiny_bert_dir) -> dict:
    """TrainConfig.model overrides: the tiny config's small widths (llm and clip set by the trainer)."""
    cfg = tiny_physllm_config(tiny_bert_dir).to_dict()
    return {k: cfg[k] for k in ("head_channels", "lora_r", "va", "tpg", "apl")}
