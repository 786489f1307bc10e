"""Data-parallel training on several workers (GPUs) through Ray Train's TorchTrainer.

Each worker runs the same `TrainRecipe` as the single process: Ray Train sets up the
process group, `prepare_model` moves the model to the worker's device and wraps it in
DistributedDataParallel, and the recipe reads every `world_size`-th video of each epoch's
order. Worker 0 validates, logs and writes the checkpoints to `cfg.out` (on a multi-node
cluster, `out` must be storage every node sees, e.g. NFS). This module imports Ray Train
only, never the precompute pipeline's workers.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

from physllm.train.checkpointing import BEST, LAST
from physllm.train.inference import TRAINING_FILE
from physllm.config import build
from physllm.train.trainer import (METRICS_FILE, TrainConfig, TrainRecipe, TrainResult, check_settings,
                                   open_training_data)


def _worker_loop(config: dict) -> None:
    """Ray Train's per-worker entry point: the recipe with this worker's rank and device."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    recipe = TrainRecipe(build(TrainConfig, config), rank=context.get_world_rank(),
                         world_size=context.get_world_size(), device=ray.train.torch.get_device(),
                         wrap_model=ray.train.torch.prepare_model,
                         report=lambda metrics: ray.train.report(metrics))
    recipe.setup()
    try:
        recipe.train()
    finally:
        recipe.cleanup()


def train_distributed(cfg: TrainConfig) -> TrainResult:
    """Run `cfg` on `cfg.num_workers` Ray Train workers (one GPU each with `cfg.use_gpu`).

    Inputs are checked here first (shards, protocol, a non-empty training split), so that a
    user's mistake is one clear error rather than a failure inside a remote worker.
    """
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    check_settings(cfg)
    open_training_data(cfg)
    out = Path(cfg.out).resolve()
    trainer = TorchTrainer(
        _worker_loop,
        train_loop_config=asdict(cfg) | {"out": str(out)},
        scaling_config=ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu),
        run_config=RunConfig(name="physllm-train", storage_path=str(out / "ray")),
    )
    earlier = len(metric_lines(out))  # a resumed run appends to the metrics of the run it continues
    trainer.fit()
    return result_from_outputs(out, skip_lines=earlier)


def metric_lines(out: Path) -> list[dict]:
    metrics = out / METRICS_FILE
    return [json.loads(line) for line in metrics.read_text().splitlines()] if metrics.is_file() else []


def result_from_outputs(out: Path, skip_lines: int = 0) -> TrainResult:
    """The TrainResult of a run whose workers wrote `out`: the epoch lines of metrics.jsonl after
    the first `skip_lines` (those of the run it resumed), as `train` returns the epochs it ran."""
    last = json.loads((out / LAST / TRAINING_FILE).read_text())
    best = out / BEST
    best_mae = json.loads((best / TRAINING_FILE).read_text())["metrics"].get("val_mae", math.inf) \
        if best.is_dir() else math.inf
    lines = metric_lines(out)[skip_lines:]
    history = [m for m in lines if "train_loss" in m]
    bad = [f"{m['bad_clip']}: {m['columns']}" for m in lines if "bad_clip" in m]
    return TrainResult(out, best if best.is_dir() else None, out / LAST, best_mae,
                       last["global_step"], last["epoch"], history, bad)
