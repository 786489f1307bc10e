"""`physllm evaluate`: a trained checkpoint on a split of the shards, as rPPG-Toolbox evaluates.

The checkpoint runs over the split's clips (`train.inference.predict_videos`, the pass validation
uses too), its outputs are joined per video and scored beside the frozen PhysNet alone and the
classic baselines on the same videos (`evaluation.report`): per-video or per-window HR, MAE, RMSE,
MAPE, Pearson r and SNR (docs/FACTS.md, "rPPG-Toolbox").

Memory: the model's outputs (one float per frame of the split) are held until each video is read;
every other signal (truth, PhysNet's wave, the baselines', the skin colour) is read from the shards,
scored and plotted one video at a time, so only each video's rows are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from physllm.classic_methods import BASELINES
from physllm.device import resolve_device
from physllm.errors import CheckpointError, PhysllmError
from physllm.evaluation.report import (EvaluationReport, VideoSignals, evaluate_videos, join_clips,
                                       signals_from_shards, write_report)
from physllm.model.physllm import PhysLLMConfig
from physllm.shards.reader import ShardSet, open_shards
from physllm.tables import print_table
from physllm.train.data import ClipStream, split_videos
from physllm.train.inference import Predictions, gated, predict_videos, read_training_info, report_labels

EVAL_BATCH_SIZE = 16  # no gradients: twice the training batch fits in the same memory


@dataclass
class EvaluateConfig:
    checkpoint: Path  # a trained checkpoint folder (<train out>/best)
    shards: list[Path]  # cache folders (or folders of caches), local or s3://…
    protocol: str | None = None  # split protocol; None: the one the checkpoint was trained with
    split: str = "test"  # which part of the protocol: train, val or test
    baselines: list[str] = field(default_factory=lambda: ["green", "chrom", "pos"])  # beside PhysLLM and PhysNet
    out: Path = Path("runs/evaluate")  # report.json, CSVs, Bland-Altman and waveform PNGs
    device: str = "auto"  # auto, cpu or cuda
    # HR per non-overlapping window of this many seconds (rPPG-Toolbox's EVALUATION_WINDOW);
    # None: per whole video
    window_s: float | None = None
    # rPPG-Toolbox's reading, for numbers comparable with papers: each video's overlapping last
    # clip dropped, HR in power-of-two FFT bins (default: every frame, 0.1-bpm interpolated peak)
    toolbox: bool = False
    RANGES = {"window_s": ">= 1"}  # valid values (physllm/config.py)


def check_model_fits_shards(model_cfg: PhysLLMConfig, shard_set: ShardSet, checkpoint: Path) -> None:
    """The checkpoint's clip length and feature maps must be those of the shards."""
    lengths = tuple(shape[-1] for shape in shard_set.feature_shapes)
    if model_cfg.clip_frames != shard_set.clip_frames or tuple(model_cfg.feature_lengths) != lengths:
        raise CheckpointError(
            f"{checkpoint} was trained on clips of {model_cfg.clip_frames} frames with feature "
            f"lengths {list(model_cfg.feature_lengths)}, but the shards hold clips of "
            f"{shard_set.clip_frames} frames with feature lengths {list(lengths)}; evaluate on "
            f"caches precomputed with the clip settings it was trained on")


def evaluate_checkpoint(cfg: EvaluateConfig, write_files: bool = True) -> EvaluationReport:
    """Evaluate a trained checkpoint on a split of the shards; print the table; write files.

    `cfg.protocol` defaults to the one the checkpoint was trained with, else the intra-dataset
    protocol of the shards' one dataset. With `write_files`, in `cfg.out`: report.json,
    per_video.csv, metrics.csv, bland_altman_<method>.png and waveforms/<video>.png.
    """
    from physllm.model.checkpoint import load_trainable, read_config

    baselines, split = cfg.baselines, cfg.split
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise PhysllmError(f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
    checkpoint = Path(cfg.checkpoint)
    model_cfg = read_config(checkpoint)
    shard_set = open_shards([Path(p) for p in cfg.shards])
    check_model_fits_shards(model_cfg, shard_set, checkpoint)
    protocol = cfg.protocol or read_training_info(checkpoint).get("protocol")
    video_ids = split_videos(shard_set, protocol).part(split)
    if not video_ids:
        raise PhysllmError(f"the {split} split of protocol {protocol or 'default'} holds no videos "
                           f"of {', '.join(map(str, cfg.shards))}; pass shards of its datasets")
    torch_device = resolve_device(cfg.device)
    model = load_trainable(checkpoint, device=torch_device)
    stream = ClipStream(shard_set, video_ids, model.tokenize_cues, EVAL_BATCH_SIZE, shuffle=False)
    predictions = predict_videos(model, stream, torch_device, f"evaluating {len(video_ids)} videos")
    tolerance = model_cfg.gate_tolerance_bpm
    videos = scored_videos(shard_set, video_ids, predictions, baselines, cfg.toolbox, tolerance,
                           model_cfg.gate_margin_db, Path(cfg.out) / "waveforms" if write_files else None)
    report = evaluate_videos(videos, cfg.window_s, scenarios=report_labels(shard_set, tolerance),
                             toolbox=cfg.toolbox)
    print_table(report)  # the result: stdout (progress and logs go to stderr)
    if write_files:
        write_evaluation_files(report, Path(cfg.out))
    return report


def scored_videos(shard_set: ShardSet, video_ids: Sequence[str], predictions: Predictions,
                  baselines: Sequence[str], toolbox: bool, tolerance_bpm: float | None,
                  margin_db: float, waveforms: Path | None) -> Iterator[VideoSignals]:
    """Each video's signals, read from the shards one video at a time: PhysLLM's joined outputs
    (taken out of `predictions` as each video is read), through the fallback (`train.inference.gated`),
    plotted into `waveforms` when given. The same signals as gating all of
    `signals_from_shards` at once gives, without holding every video's."""
    for video_id in video_ids:
        own = {}
        if video_id in predictions.waves:
            own[video_id] = join_clips(predictions.first_frames.pop(video_id), predictions.waves.pop(video_id),
                                       keep_tail=not toolbox)
        [video] = gated(signals_from_shards(shard_set, [video_id], own, list(baselines), keep_tail=not toolbox),
                        tolerance_bpm, margin_db)
        if waveforms is not None:
            from physllm.evaluation.plots import waveform_overlay  # matplotlib: only here

            waveform_overlay(video, waveforms / f"{video.video_id.replace('/', '__')}.png")
        yield video


def write_evaluation_files(report: EvaluationReport, out: Path) -> None:
    """The report's JSON/CSV and one Bland–Altman plot per method (the waveform overlays are
    written video by video, `scored_videos`)."""
    from physllm.evaluation.plots import bland_altman  # matplotlib: only here

    write_report(report, out)
    for method in report.methods:
        rows = [r for r in report.per_video if r["method"] == method]
        bland_altman([r["hr_fft"] for r in rows], [r["true_hr_fft"] for r in rows],
                     out / f"bland_altman_{method}.png", f"{method}: HR (FFT) vs ground truth")
