"""A trained PhysLLM over the clips of a split: batched, no grad, joined per video, evaluated.

`predict_videos` is what validation and evaluation share: the model's output per clip, the
clips joined in frame order as the model gives them (rPPG-Toolbox concatenates its chunk outputs
per video before its HR post-processing, and `physllm predict` does the same), plus the mean
loss where the caller wants it. `evaluate_checkpoint` hands the joined waveforms to
`physllm.evaluation.report`, beside the frozen PhysNet alone and the classic baselines on the
same videos (../shared/DESIGN.md, "Evaluation").
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from physllm.data_catalog import scenario_labels
from physllm.errors import CheckpointError, PhysllmError
from physllm.evaluation.baselines import BASELINES
from physllm.evaluation.report import (EvaluationReport, VideoSignals, evaluate_videos, join_clips,
                                       print_table, signals_from_shards, write_report)
from physllm.model.physllm import PhysLLM, PhysLLMConfig
from physllm.model.dds import zscore
from physllm.progress import progress_bar
from physllm.shards.reader import ShardSet, open_shards
from physllm.train.data import ClipStream, split_videos
from physllm.train.loss import EPS

TRAINING_FILE = "training.json"  # beside a checkpoint: the train config and the caches it read
EVAL_BATCH_SIZE = 16  # no gradients: twice the training batch fits in the same memory
def autocast_for(device: torch.device):
    """bf16 autocast on CUDA (Ampere and later run bf16 matmuls at full rate); fp32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@dataclass
class Predictions:
    """Per video: the clips' first frames and outputs, and the mean loss over clips.

    The outputs are kept in the scale the model returns them in, its input's (the instance
    norm undone, Time-LLM's `Normalize`), as PhysNet's chunks are kept in theirs: a clip where
    the backbone's pulse is strong weighs as much in PhysLLM's joined wave as in PhysNet's.
    Z-scoring each clip instead would let a weak, noisy clip count as much as a clean one.
    """

    first_frames: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    waves: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    loss_sum: float = 0.0
    clips: int = 0

    @property
    def loss(self) -> float:
        return self.loss_sum / self.clips if self.clips else float("nan")

    def joined(self, keep_tail: bool = True) -> dict[str, np.ndarray]:
        """video id → the clip outputs joined in frame order (T_video,), DiffNormalized domain."""
        return {v: join_clips(self.first_frames[v], self.waves[v], keep_tail) for v in self.waves}


@torch.no_grad()
def predict_videos(model: PhysLLM, stream: ClipStream, device: torch.device,
                   description: str = "predicting") -> Predictions:
    """Run `model` over every batch of `stream` (in order, no grad) and collect the outputs."""
    was_training = model.training
    model.eval()
    out = Predictions()
    with progress_bar(description, len(stream)) as advance:
        for batch in stream.batches():
            batch = batch.to(device)
            with autocast_for(device):
                pred = model(batch.wave, batch.features, batch.cue_tokens)  # (B, T)
            pred = pred.float()
            standardised = zscore(pred, EPS)  # the loss compares z-scores (train.loss)
            out.loss_sum += F.mse_loss(standardised, batch.target, reduction="none").mean(-1).sum().item()
            out.clips += len(batch)
            for clip_id, wave in zip(batch.ids, pred.cpu().numpy()):
                out.first_frames[clip_id.video_id].append(clip_id.first_frame)
                out.waves[clip_id.video_id].append(wave)
            advance()
    model.train(was_training)
    return out


def evaluate_predictions(shard_set: ShardSet, video_ids: Sequence[str], predictions: Predictions,
                         baselines: Sequence[str] = (), window_seconds: float | None = None,
                         toolbox: bool = False) -> tuple[EvaluationReport, list[VideoSignals]]:
    """The field's per-video (or per-window) evaluation of PhysLLM's joined outputs, PhysNet
    alone and baselines; `toolbox`: rPPG-Toolbox's convention (tails dropped, power-of-two FFT)."""
    signals = signals_from_shards(shard_set, list(video_ids), predictions.joined(not toolbox),
                                  list(baselines), keep_tail=not toolbox)
    labels = scenario_labels(sorted({c.dataset for c in shard_set.caches}))
    return evaluate_videos(signals, window_seconds, scenarios=labels, toolbox=toolbox), signals


def mae_of(report: EvaluationReport, method: str) -> float:
    """Whole-video HR MAE (bpm, FFT) of `method` over all videos of the report."""
    rows = [m for m in report.select("fft", "all") if m["method"] == method]
    return float(rows[0]["mae"]) if rows else float("nan")


# ---------------------------------------------------------------- evaluating a checkpoint


def read_training_info(checkpoint: Path) -> dict:
    """The training.json written beside a checkpoint ({} for a checkpoint saved without one)."""
    path = Path(checkpoint) / TRAINING_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as error:  # not JSON, or not UTF-8 text
        raise CheckpointError(f"{path}: not the JSON training record `physllm train` writes "
                              f"({error})") from None


def check_model_fits_shards(model_cfg: PhysLLMConfig, shard_set: ShardSet, checkpoint: Path) -> None:
    """The checkpoint's clip length and feature maps must be those of the shards."""
    lengths = tuple(shape[-1] for shape in shard_set.feature_shapes)
    if model_cfg.clip_frames != shard_set.clip_frames or tuple(model_cfg.feature_lengths) != lengths:
        raise CheckpointError(
            f"{checkpoint} was trained on clips of {model_cfg.clip_frames} frames with feature "
            f"lengths {list(model_cfg.feature_lengths)}, but the shards hold clips of "
            f"{shard_set.clip_frames} frames with feature lengths {list(lengths)}; evaluate on "
            f"caches precomputed with the clip settings it was trained on")


def evaluate_checkpoint(checkpoint: str | Path, shard_paths: Sequence[str | Path],
                        protocol: str | None = None,
                        baselines: Sequence[str] = ("green", "chrom", "pos"),
                        out: str | Path | None = None, split: str = "test",
                        device: str = "auto", window_seconds: float | None = None,
                        toolbox: bool = False) -> EvaluationReport:
    """Evaluate a trained checkpoint on a split of the shards; print the table; write files.

    `protocol` defaults to the one the checkpoint was trained with, else the intra-dataset
    protocol of the shards' one dataset. `window_seconds` evaluates non-overlapping windows of
    that length (rPPG-Toolbox's EVALUATION_WINDOW) instead of whole videos; `toolbox` reads HR
    as rPPG-Toolbox does (each video's overlapping last clip dropped, power-of-two FFT bins), for
    numbers comparable with papers. With `out`:
    report.json, per_video.csv, metrics.csv, bland_altman_<method>.png and waveforms/<video>.png.
    """
    from physllm.model.checkpoint import load_trainable, read_config

    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise PhysllmError(f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
    checkpoint = Path(checkpoint)
    model_cfg = read_config(checkpoint)
    shard_set = open_shards([Path(p) for p in shard_paths])
    check_model_fits_shards(model_cfg, shard_set, checkpoint)
    protocol = protocol or read_training_info(checkpoint).get("protocol")
    video_ids = split_videos(shard_set, protocol).part(split)
    if not video_ids:
        raise PhysllmError(f"the {split} split of protocol {protocol or 'default'} holds no videos "
                           f"of {', '.join(map(str, shard_paths))}; pass shards of its datasets")
    torch_device = resolve_device(device)
    model = load_trainable(checkpoint, device=torch_device)
    stream = ClipStream(shard_set, video_ids, model.tokenize_cues, EVAL_BATCH_SIZE, shuffle=False)
    predictions = predict_videos(model, stream, torch_device, f"evaluating {len(video_ids)} videos")
    report, signals = evaluate_predictions(shard_set, video_ids, predictions, baselines, window_seconds,
                                           toolbox)
    print_table(report)  # the result: stdout (progress and logs go to stderr)
    if out is not None:
        write_evaluation_files(report, signals, Path(out))
    return report


def write_evaluation_files(report: EvaluationReport, signals: list[VideoSignals], out: Path) -> None:
    """The report's JSON/CSV, one Bland–Altman plot per method, one waveform overlay per video."""
    from physllm.evaluation.plots import bland_altman, waveform_overlay  # matplotlib: only here

    write_report(report, out)
    for method in report.methods:
        rows = [r for r in report.per_video if r["method"] == method]
        bland_altman([r["hr_fft"] for r in rows], [r["true_hr_fft"] for r in rows],
                     out / f"bland_altman_{method}.png", f"{method}: HR (FFT) vs ground truth")
    for video in signals:
        waveform_overlay(video, out / "waveforms" / f"{video.video_id.replace('/', '__')}.png")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' → cuda if there is one, else cpu; anything else as torch spells it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as error:
        raise PhysllmError(f"unknown device {name!r}: {error}") from None
