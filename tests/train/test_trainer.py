"""The trainer on tiny data: it learns, it writes what it promises, and resume is exact."""

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from physllm.model.checkpoint import ADAPTERS_FILE
from physllm.shards.cache import open_cache
from physllm.shards.writer import write_video_shard
from physllm.train.loss import pulse_loss
from physllm.train.run import train
from physllm.config import build
from physllm.train.trainer import TrainConfig, TrainRecipe, cosine_with_warmup, model_config_for
from tests.train.conftest import clip_rows


@pytest.fixture(scope="module")
def base_cfg(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path_factory):
    def make(**kw) -> TrainConfig:
        values = dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                      epochs=2, batch_size=8, log_every=1, out=str(tmp_path_factory.mktemp("run")))
        return build(TrainConfig, values | kw)
    return make


@pytest.fixture(scope="module")
def two_epochs(base_cfg):
    cfg = base_cfg()
    return cfg, train(cfg)


def step_losses(out) -> dict[int, float]:
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {m["step"]: m["loss"] for m in lines if "loss" in m}


def test_schedule_warms_up_then_decays_to_the_floor():
    f = cosine_with_warmup(warmup=4, total=20, min_ratio=0.1)
    assert f(0) == pytest.approx(0.25) and f(3) == pytest.approx(1.0)
    assert f(4) == pytest.approx(1.0) and f(12) == pytest.approx(0.55)
    assert f(20) == pytest.approx(0.1)


def test_model_config_takes_clip_length_and_strides_from_the_shards(base_cfg):
    recipe = TrainRecipe(base_cfg(model={"lora_r": 2, "tpg": {"num_prototypes": 4}}))
    from physllm.shards.reader import open_shards

    model_cfg = model_config_for(recipe.cfg, open_shards(recipe.cfg.shards))
    assert (model_cfg.clip_frames, model_cfg.feature_strides) == (32, (1, 2, 4, 4))
    assert model_cfg.lora_r == 2 and model_cfg.tpg.num_prototypes == 4
    assert model_cfg.tpg.num_heads == 8  # a partial override keeps the other defaults


def test_a_few_steps_reduce_the_loss(base_cfg):
    """Twelve steps on one batch (the usual overfit check): optimizer, groups and grads work."""
    recipe = TrainRecipe(base_cfg(lr=3e-3, epochs=3, warmup_fraction=0.0))
    recipe.setup()
    batch = next(recipe.train_stream.batches(0)).to(recipe.device)

    def loss() -> float:
        recipe.model.eval()
        with torch.no_grad():
            value = pulse_loss(recipe.model(batch.wave, batch.features, batch.cue_tokens, batch.chroma), batch.target)
        recipe.model.train()
        return value.item()

    before = loss()
    for _ in range(12):
        recipe.train_step(batch)
    recipe.cleanup()
    assert loss() < 0.85 * before


def test_outputs_config_metrics_and_checkpoints(two_epochs, tiny_cache):
    cfg, result = two_epochs
    out = result.out
    written = json.loads((out / "train_config.json").read_text())
    assert written == json.loads(json.dumps(asdict(cfg)))
    assert result.global_step == 10 and result.epochs_completed == 2  # 36 clips / 8 → 5 steps
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all(np.isfinite(h["val_loss"]) and np.isfinite(h["val_mae"]) for h in result.history)
    assert result.best_val_mae == min(h["val_mae"] for h in result.history)
    info = json.loads((result.best_checkpoint / "training.json").read_text())
    assert info["protocol"] == "synthetic-intra"
    # the best epoch: the lowest val MAE, a tie going to the lowest val loss
    assert info["epoch"] == min(result.history, key=lambda h: (h["val_mae"], h["val_loss"]))["epoch"]
    assert info["caches"][0]["key"] == tiny_cache.name
    assert info["train_config"]["lr"] == cfg.lr
    assert (result.last_checkpoint / "train_state.pt").is_file()
    assert not (result.best_checkpoint / "train_state.pt").exists()
    assert sorted(step_losses(out)) == list(range(1, 11))


def test_resume_continues_with_the_same_next_step(two_epochs, base_cfg):
    cfg, full = two_epochs
    interrupted = base_cfg(max_steps=7)  # stops inside the second epoch
    assert train(interrupted).global_step == 7
    resumed = train(TrainConfig(**{**vars(interrupted), "max_steps": None, "resume": True}))
    assert resumed.global_step == 10
    want, got = step_losses(full.out), step_losses(resumed.out)
    assert [got[s] for s in (8, 9, 10)] == pytest.approx([want[s] for s in (8, 9, 10)], rel=1e-5)
    a = load_file(full.last_checkpoint / ADAPTERS_FILE)
    b = load_file(resumed.last_checkpoint / ADAPTERS_FILE)
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_clips_with_nan_are_reported_and_not_trained_on(tmp_path, base_cfg):
    rng = np.random.default_rng(0)
    cache = open_cache(tmp_path / "cache", "synthetic", {"k": "nan"})
    for v in range(5):
        rows = clip_rows("synthetic", f"p{v + 1}", 3, 60 + 10 * v, rng)
        if v == 0:
            rows[2]["ppg"][3] = np.inf
        write_video_shard(cache, rows[0]["video_id"], rows, {"dataset_description": "d"})
    result = train(base_cfg(shards=[str(cache.path)], epochs=1, batch_size=2,
                            out=str(tmp_path / "run")))
    assert result.bad_clips == ["synthetic/p1/s1 clip 2 (frame 64): ppg"]
    assert all(np.isfinite(list(step_losses(result.out).values())))
    logged = (result.out / "metrics.jsonl").read_text()
    assert '"bad_clip": "synthetic/p1/s1 clip 2 (frame 64)"' in logged
