"""A trained PhysLLM over the clips of a split: batched, no grad, joined per video, scored.

`predict_videos` is what validation (train/validation.py) and `physllm evaluate` (physllm/evaluate.py)
share: the model's output per clip, the clips joined in frame order as the model gives them
(rPPG-Toolbox concatenates its chunk outputs per video before its HR post-processing, and
`physllm predict` does the same), plus the mean loss where the caller wants it.
`gated` passes the joined waveforms through the per-video fallback before `physllm.evaluation.report`
scores them beside the frozen PhysNet alone and the classic baselines on the same videos
(docs/FACTS.md, "rPPG-Toolbox").
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from physllm.cues.quality import GateInputs, gate_inputs, video_gate
from physllm.data_catalog import scenario_labels
from physllm.errors import CheckpointError
from physllm.evaluation.report import EvaluationReport, VideoSignals, join_clips
from physllm.model.physllm import PhysLLM
from physllm.progress import progress_bar
from physllm.pulse import zscore
from physllm.shards.reader import ShardSet
from physllm.train.data import ClipStream
from physllm.train.loss import EPS

TRAINING_FILE = "training.json"  # beside a checkpoint: the train config and the caches it read
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
                pred = model(batch.wave, batch.features, batch.cue_tokens, batch.chroma)  # (B, T)
            pred = pred.float()
            standardised = zscore(pred, EPS, ddof=1)  # the loss compares z-scores (train.loss)
            out.loss_sum += F.mse_loss(standardised, batch.target, reduction="none").mean(-1).sum().item()
            out.clips += len(batch)
            for clip_id, wave in zip(batch.ids, pred.cpu().numpy()):
                out.first_frames[clip_id.video_id].append(clip_id.first_frame)
                out.waves[clip_id.video_id].append(wave)
            advance()
    model.train(was_training)
    return out


def report_labels(shard_set: ShardSet, gate_tolerance_bpm: float | None) -> list[str]:
    """What a report breaks results down by: the datasets' own labels, the region each video was
    read from, and, with the fallback on, which wave it kept."""
    labels = scenario_labels(sorted({c.dataset for c in shard_set.caches})) + ["roi"]
    return labels + (["gate"] if gate_tolerance_bpm is not None else [])


def gated(signals: Sequence[VideoSignals], tolerance_bpm: float | None, margin_db: float = 0.0,
          inputs: Sequence[GateInputs] | None = None) -> list[VideoSignals]:
    """The videos with PhysLLM's wave through `cues.quality.video_gate` against the frozen
    PhysNet's wave and the chrominance wave of the whole video, the source kept in the metadata as
    `gate` (so the report breaks results down by it); the videos given are left as they are.
    `inputs`: each video's `inputs_of`, where they are read once for several settings."""
    if tolerance_bpm is None:
        return list(signals)
    out = []
    for index, video in enumerate(signals):
        if "physllm" in video.methods:
            read = inputs[index] if inputs is not None else inputs_of(video)
            wave, kept = video_gate(video.methods["physllm"], read, video.fps, tolerance_bpm, margin_db)
            video = replace(video, methods={**video.methods, "physllm": wave},
                            metadata={**video.metadata, "gate": kept})
        out.append(video)
    return out


def inputs_of(video: VideoSignals) -> GateInputs:
    """What the fallback reads of a video's two inputs (`cues.quality.gate_inputs`)."""
    return gate_inputs(video.methods["physnet"], video.rgb, video.background, video.fps)


def mae_of(report: EvaluationReport, method: str) -> float:
    """Whole-video HR MAE (bpm, FFT) of `method` over all videos of the report."""
    rows = [m for m in report.select("fft", "all") if m["method"] == method]
    return float(rows[0]["mae"]) if rows else float("nan")


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
