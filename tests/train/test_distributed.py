"""One CPU worker through Ray Train runs the same recipe and writes the same outputs."""

import json

import pytest

from physllm.train.distributed import train_distributed
from physllm.train.trainer import TrainConfig


@pytest.mark.slow  # Ray start + a Ray Train worker: ~55 s on 2 shared cores
def test_one_worker_ray_train_run(ray_local, tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = TrainConfig(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                      epochs=1, batch_size=8, num_workers=1, out=str(tmp_path / "run"))
    result = train_distributed(cfg)
    assert result.global_step == 5 and result.epochs_completed == 1
    assert result.best_checkpoint is not None and (result.best_checkpoint / "adapters.safetensors").is_file()
    assert [h["epoch"] for h in result.history] == [1]
    info = json.loads((result.last_checkpoint / "training.json").read_text())
    assert info["caches"][0]["key"] == tiny_cache.name
