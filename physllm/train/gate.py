"""Calibrating the fallback to the backbone (`PhysLLMConfig.gate_margin`, ours) on validation videos.

PhysLLM's clip waves and the frozen PhysNet's are computed once over the validation split; each
candidate margin gates them clip by clip (`model.physllm.gate_to_backbone`), the clips are joined
per video as evaluation joins them, and the whole-video HR MAE (FFT) scores the margin.

The model as trained (`ALWAYS`, no fallback) stands unless another margin lowers the validation
MAE by at least `MIN_GAIN_BPM`; among those that do, the lowest MAE wins and a tie goes to the
larger margin, the one closer to the backbone. `NEVER` (PhysNet's wave on every clip) is a
candidate, so where the model hurts the validation videos, it falls back to PhysNet everywhere.
Why a minimum gain: a validation split holds a handful of videos, and the band-peak signal that
gates a clip is a weak judge. Measured (README, "Accuracy"): on the talking protocol a margin that
won by 0.07 bpm on 5 validation videos cost 12 bpm on the test videos, where PhysNet locks
confidently onto the mouth's rhythm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from physllm.model.physllm import PhysLLM, gate_to_backbone
from physllm.shards.reader import ShardSet
from physllm.train.data import ClipStream
from physllm.train.inference import Predictions, autocast_for, evaluate_predictions, mae_of

ALWAYS, NEVER = -1.0, 2.0  # the band-confidence difference is in [-1, 1]
MARGINS = (ALWAYS, 0.0, 0.05, 0.1, 0.2, 0.3, NEVER)
MIN_GAIN_BPM = 1.0  # validation MAE a fallback must save to be kept (why: the module doc)


@dataclass
class Calibration:
    margin: float
    mae: dict[float, float] = field(default_factory=dict)  # whole-video validation MAE per margin


@torch.no_grad()
def ungated_outputs(model: PhysLLM, stream: ClipStream, device: torch.device):
    """[(clip id, PhysLLM's wave, PhysNet's wave)] over the stream, the gate off."""
    was_training, margin = model.training, model.cfg.gate_margin
    model.eval()
    model.cfg.gate_margin = None
    clips = []
    try:
        for batch in stream.batches():
            batch = batch.to(device)
            with autocast_for(device):
                pred = model(batch.wave, batch.features, batch.cue_tokens, batch.chroma).float()
            clips += list(zip(batch.ids, pred.cpu(), batch.wave.float().cpu()))
    finally:
        model.cfg.gate_margin = margin
        model.train(was_training)
    return clips


def gated_predictions(clips, margin: float, fps: float) -> Predictions:
    out = Predictions()
    if not clips:
        return out
    ids, pred, wave = zip(*clips)
    gated = gate_to_backbone(torch.stack(pred), torch.stack(wave), fps, margin)
    for clip_id, clip_wave in zip(ids, gated.numpy()):
        out.first_frames[clip_id.video_id].append(clip_id.first_frame)
        out.waves[clip_id.video_id].append(clip_wave)
    return out


def calibrate_gate(model: PhysLLM, stream: ClipStream, shard_set: ShardSet, video_ids: Sequence[str],
                   device: torch.device, margins: Sequence[float] = MARGINS) -> Calibration:
    """`ALWAYS`, unless a margin lowers the whole-video validation MAE by `MIN_GAIN_BPM`: then the
    lowest (ties: the larger margin)."""
    clips = ungated_outputs(model, stream, device)
    mae = {}
    for margin in dict.fromkeys((ALWAYS, *margins)):
        report, _ = evaluate_predictions(shard_set, video_ids, gated_predictions(clips, margin, model.cfg.fps))
        mae[margin] = mae_of(report, "physllm")
    return Calibration(choose_margin(mae), mae)


def choose_margin(mae: dict[float, float]) -> float:
    """{margin: validation MAE} (ALWAYS among them) → the margin kept (see the module doc)."""
    best = min(sorted(mae, reverse=True), key=lambda m: mae[m])
    return best if mae[best] <= mae[ALWAYS] - MIN_GAIN_BPM else ALWAYS
