"""Validation and evaluation's shared prediction pass (train/inference.py)."""

import numpy as np
import torch

from physllm.evaluation.report import VideoSignals, signals_from_shards
from physllm.model.physllm import build_physllm
from physllm.shards.reader import open_shards
from physllm.train.data import ClipStream, split_videos
from physllm.train.inference import gated, predict_videos
from physllm.config import build
from physllm.train.trainer import TrainConfig, model_config_for


def untrained_pass(tiny_cache, tiny_bert_dir, tiny_model_overrides):
    """(shards, test videos, a stream of them, an untrained tiny PhysLLM)."""
    shard_set = open_shards([tiny_cache])
    cfg = build(TrainConfig, dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides))
    torch.manual_seed(0)
    model = build_physllm(model_config_for(cfg, shard_set))
    videos = split_videos(shard_set, None).part("test")
    return shard_set, videos, ClipStream(shard_set, videos, model.tokenize_cues, 4, shuffle=False), model


def test_an_untrained_physllm_joins_to_exactly_physnets_wave(tiny_cache, tiny_bert_dir, tiny_model_overrides):
    """The head starts at zero and the skip at PhysNet's wave, so before training PhysLLM's joined
    output is the backbone's, clip scales included: evaluation joins outputs as PhysNet's chunks
    are joined (the toolbox's way), not clip by clip z-scored."""
    shard_set, videos, stream, model = untrained_pass(tiny_cache, tiny_bert_dir, tiny_model_overrides)
    predictions = predict_videos(model, stream, torch.device("cpu"))

    joined = predictions.joined()
    for video in signals_from_shards(shard_set, videos, baselines=()):
        physnet = video.methods["physnet"]
        assert np.std([physnet[i:i + 32].std() for i in range(0, len(physnet), 32)]) > 0.01  # scales differ
        np.testing.assert_allclose(joined[video.video_id], physnet, rtol=1e-4, atol=1e-4)
    assert np.isfinite(predictions.loss) and predictions.clips == 6 * len(videos)


def test_the_fallback_replaces_a_wrong_wave_by_the_surer_input_and_leaves_the_videos_given():
    fps, frames = 30.0, 900
    t = np.arange(frames + 1) / fps
    truth = np.sin(2 * np.pi * 1.2 * t)  # 72 bpm
    backbone = np.diff(truth)  # PhysNet right and clean
    wrong = np.diff(np.sin(2 * np.pi * 1.6 * t))  # PhysLLM at 96 bpm
    rgb = np.full((frames, 3), 120.0) + np.random.default_rng(0).standard_normal((frames, 3))  # no pulse
    video = VideoSignals("v", "synthetic", fps, {}, truth[:frames], {"physnet": backbone, "physllm": wrong},
                         {"physnet", "physllm"}, rgb)
    [out] = gated([video], tolerance_bpm=6.0)
    assert out.metadata["gate"] == "physnet" and np.array_equal(out.methods["physllm"], backbone)
    assert video.methods["physllm"] is wrong and "gate" not in video.metadata  # the input is untouched
    assert gated([video], None)[0] is video


def test_evaluate_reads_video_by_video_the_signals_gating_them_all_at_once_gives(tiny_cache, tiny_bert_dir,
                                                                                tiny_model_overrides):
    from physllm.evaluate import scored_videos

    shard_set, videos, stream, model = untrained_pass(tiny_cache, tiny_bert_dir, tiny_model_overrides)
    predictions = predict_videos(model, stream, torch.device("cpu"))
    for toolbox in (False, True):
        held = gated(signals_from_shards(shard_set, videos, predictions.joined(not toolbox), ["pos"],
                                         keep_tail=not toolbox), 3.0, 3.0)
        streamed = list(scored_videos(shard_set, videos, predict_videos(model, stream, torch.device("cpu")),
                                      ("pos",), toolbox, 3.0, 3.0, None))
        assert [v.video_id for v in streamed] == [v.video_id for v in held]
        for a, b in zip(held, streamed):
            assert a.metadata == b.metadata and a.methods.keys() == b.methods.keys()
            for name in a.methods:
                np.testing.assert_array_equal(a.methods[name], b.methods[name])
