"""Ray Train (train/distributed.py): one CPU worker runs the same recipe and writes the same outputs;
two gloo DDP workers average their gradients and resume from rank 0's checkpoint."""

import json

import numpy as np
import pytest

from physllm.train.distributed import train_distributed
from physllm.config import build
from physllm.train.trainer import TrainConfig


@pytest.mark.slow  # Ray start + a Ray Train worker: ~55 s on 2 shared cores
def test_one_worker_ray_train_run(ray_local, tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = build(TrainConfig, dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                                  epochs=1, batch_size=8, num_workers=1, out=str(tmp_path / "run")))
    result = train_distributed(cfg)
    assert result.global_step == 5 and result.epochs_completed == 1
    assert result.best_checkpoint is not None and (result.best_checkpoint / "adapters.safetensors").is_file()
    assert [h["epoch"] for h in result.history] == [1]
    info = json.loads((result.last_checkpoint / "training.json").read_text())
    assert info["caches"][0]["key"] == tiny_cache.name


def checkpoint_weights(folder):
    """Every trained weight of a checkpoint: the adapters and the LoRA matrices."""
    from safetensors.numpy import load_file

    weights = load_file(folder / "adapters.safetensors")
    weights |= {f"lora.{k}": v for k, v in load_file(next((folder / "lora").glob("*.safetensors"))).items()}
    return weights


def mismatched(got: dict, want: dict) -> int:
    """How many weights differ by more than 1e-6 (a thousandth of an Adam step of lr 1e-3)."""
    return sum(int((~np.isclose(got[k], want[k], rtol=0, atol=1e-6)).sum()) for k in want)


def differing(got: dict, want: dict) -> dict[str, int]:
    """The weights `mismatched` counts, by tensor name."""
    counts = {k: int((~np.isclose(got[k], want[k], rtol=0, atol=1e-6)).sum()) for k in want}
    return {k: n for k, n in counts.items() if n}


@pytest.mark.slow  # three Ray Train launches of 2 workers: ~2.5 min on 2 shared cores
def test_two_workers_average_gradients_and_resume_from_rank_0(ray_local, tiny_bert_dir, tiny_model_overrides,
                                                             tmp_path):
    """2 gloo DDP workers of one video each (batch = its 4 clips) make the same steps as one process
    on the combined batch of 8: DDP averages the gradients, and the loss is a mean over the batch.
    Step 1 is compared (Adam's early steps are lr·g/|g|, so later steps amplify the rounding
    of near-zero gradients: step 2 is no test of averaging); then a 2-worker resume from rank
    0's `last` runs step 2 and matches an uninterrupted 2-worker run. Dropout is off so that
    all runs compute the same function."""
    from physllm.train.run import train
    from tests.train.conftest import write_cache

    cache = write_cache(tmp_path / "cache", videos=4, clips=4)  # synthetic-intra: 2 train, 1 val, 1 test
    # chrominance off: this cache's skin colour is its label, so the clean chrominance wave leaves
    # the head's first gradients near zero, where rounding alone picks the sign of Adam's first step
    model = tiny_model_overrides | {"dropout": 0.0, "lora_dropout": 0.0, "chrominance": False,
                                    "apl": tiny_model_overrides["apl"] | {"dropout": 0.0}}
    # augmentation off: each rank draws its own augmentations, so the batches would differ from one process's
    base = build(TrainConfig, dict(shards=[str(cache)], llm=str(tiny_bert_dir), model=model, epochs=2, lr=1e-3,
                                   augment=False))
    one = {"num_workers": 1, "batch_size": 8}
    two = {"num_workers": 2, "batch_size": 4}
    single_step1 = train(TrainConfig(**(vars(base) | one | {"max_steps": 1, "out": str(tmp_path / "s1")})))
    ddp_step1 = train_distributed(TrainConfig(**(vars(base) | two | {"max_steps": 1, "out": str(tmp_path / "d")})))
    assert ddp_step1.global_step == single_step1.global_step == 1
    got, want = checkpoint_weights(ddp_step1.last_checkpoint), checkpoint_weights(single_step1.last_checkpoint)
    assert sorted(got) == sorted(want)
    # Adam's first step is lr·g/|g| on the weights with a gradient yet (zero-initialised gates and
    # LoRA B leave most without): a step on another batch, 4 of the 8 clips, moves some of them
    # the other way; the two workers' averaged step matches the combined batch's.
    half = train(TrainConfig(**(vars(base) | one | {"batch_size": 4, "max_steps": 1, "out": str(tmp_path / "h")})))
    off_ddp, off_half = mismatched(got, want), mismatched(checkpoint_weights(half.last_checkpoint), want)
    assert off_half >= 50 and off_ddp <= off_half / 20, (off_ddp, off_half, differing(got, want))

    resumed = train_distributed(TrainConfig(**(vars(base) | two | {"resume": True, "out": str(tmp_path / "d")})))
    assert (resumed.global_step, resumed.epochs_completed) == (2, 2)
    assert [h["epoch"] for h in resumed.history] == [2]  # epoch 1 came from the checkpoint
    uninterrupted = train_distributed(TrainConfig(**(vars(base) | two | {"out": str(tmp_path / "d2")})))
    got, want = checkpoint_weights(resumed.last_checkpoint), checkpoint_weights(uninterrupted.last_checkpoint)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-7, err_msg=name)
    assert resumed.best_checkpoint is not None and (resumed.best_checkpoint / "adapters.safetensors").is_file()
