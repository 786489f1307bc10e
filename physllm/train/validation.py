"""Validation at each epoch's end, and which epoch is the best one.

PhysLLM reads the validation videos once, and their signals and the inputs the fallback reads are
read once: the fallback's tolerance and margin are calibrated on them first (train/gate.py), then
the model is scored as `physllm evaluate` scores it (train/inference.py): whole-video HR MAE by
FFT, PhysNet alone beside it for reference, and the validation loss.
"""

from __future__ import annotations

import math

import torch

from physllm.evaluation.report import evaluate_videos, signals_from_shards
from physllm.model.physllm import PhysLLM
from physllm.shards.reader import ShardSet
from physllm.train.data import ClipStream
from physllm.train.gate import calibrate_gate
from physllm.train.inference import gated, inputs_of, mae_of, predict_videos


def validation_metrics(model: PhysLLM, stream: ClipStream, shard_set: ShardSet, video_ids: list[str],
                       device: torch.device, gate: bool) -> dict:
    """Val loss and whole-video HR MAE (FFT) of PhysLLM and, for reference, PhysNet alone;
    with `gate`, the fallback's tolerance calibrated on these videos first and set on the model."""
    if not video_ids:
        return {}
    predictions = predict_videos(model, stream, device, "validating")
    signals = signals_from_shards(shard_set, video_ids, predictions.joined(), baselines=())
    inputs, gate_metrics = None, {}
    if gate:
        inputs = [inputs_of(video) for video in signals]
        calibration = calibrate_gate(signals, inputs)
        model.cfg.gate_tolerance_bpm, model.cfg.gate_margin_db = calibration.tolerance_bpm, calibration.margin_db
        gate_metrics = {"gate_tolerance_bpm": calibration.tolerance_bpm, "gate_margin_db": calibration.margin_db,
                        "val_mae_ungated": calibration.ungated_mae}
    report = evaluate_videos(gated(signals, model.cfg.gate_tolerance_bpm, model.cfg.gate_margin_db, inputs),
                             scenarios=[])
    return {"val_loss": predictions.loss, "val_mae": mae_of(report, "physllm"),
            "val_mae_physnet": mae_of(report, "physnet"), **gate_metrics}


def improves(metrics: dict, best_mae: float, best_loss: float) -> bool:
    """Lower validation HR MAE wins. The MAE moves in whole FFT bins, so epochs often tie
    (at PhysNet's own MAE, say); the tie goes to the lower validation loss, not the earlier epoch."""
    score = (metrics.get("val_mae", math.inf), metrics.get("val_loss", math.inf))
    return score < (best_mae, best_loss)
