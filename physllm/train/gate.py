"""Calibrating the per-video fallback (`PhysLLMConfig.gate_tolerance_bpm`, ours) on validation videos.

PhysLLM's outputs over the validation split are computed, and the videos' signals read from the
shards, once; each candidate tolerance gates them video by video (`cues.quality.video_gate`:
PhysLLM's wave where its HR lies within the tolerance of the trusted input's, that input's wave
otherwise), and the whole-video HR MAE (FFT) scores it. The lowest MAE wins; candidates within
`TIE_BPM` of it count as equal, and among those the one nearest `PRIOR_BPM` is kept. `None`
(never fall back) is scored and reported (`val_mae_ungated`) but never chosen: the validation
split is one domain, and a model that beats its inputs there may follow a wrong input on the
next. Measured: the plain demo (its own renderer-trained PhysNet) chose none on renderer 2's
validation half and then read the test half at 26.57 bpm against POS's 14.62, following its
PhysNet; renderer-2-trained ablations that chose none read a real clip 44 bpm off.

Why a prior: a validation split holds a handful of videos and often cannot tell the tolerances
apart. 6 bpm is the half-width of the field's SNR window (de Haan & Jeanne 2013, `pulse.snr_db`):
two heart rates closer than that are one spectral peak by the field's own measure.
Why per video and not per clip: on the real vitallens clips the inputs' SNR picks the right
reader for both whole videos but for only 4 of 6 of their 4-s clips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from physllm.evaluation.report import evaluate_videos, signals_from_shards
from physllm.model.physllm import PhysLLM
from physllm.shards.reader import ShardSet
from physllm.train.data import ClipStream
from physllm.train.inference import gated, inputs_of, mae_of, predict_videos

TOLERANCES = (None, 10.0, 6.0, 3.0, 0.0)  # bpm; None (never fall back) scored, not chosen; 0 always falls back
PRIOR_BPM = 6.0  # the tie-break (module doc)
TIE_BPM = 0.25  # validation MAEs this close are a tie


@dataclass
class Calibration:
    tolerance_bpm: float | None
    mae: dict[float | None, float] = field(default_factory=dict)  # whole-video validation MAE per tolerance


def calibrate_gate(model: PhysLLM, stream: ClipStream, shard_set: ShardSet, video_ids: Sequence[str],
                   device: torch.device, tolerances: Sequence[float | None] = TOLERANCES) -> Calibration:
    """The tolerance chosen on these videos (module doc), and the MAE of each."""
    predictions = predict_videos(model, stream, device, "calibrating the fallback")
    signals = signals_from_shards(shard_set, list(video_ids), predictions.joined(), baselines=())
    inputs = [inputs_of(video) for video in signals]  # read once, gated at every tolerance
    mae = {tolerance: mae_of(evaluate_videos(gated(signals, tolerance, inputs), scenarios=[]), "physllm")
           for tolerance in tolerances}
    return Calibration(choose_tolerance(mae), mae)


def choose_tolerance(mae: dict[float | None, float]) -> float:
    """{tolerance: validation MAE} → the tolerance kept, never None (see the module doc)."""
    candidates = {t: m for t, m in mae.items() if t is not None}
    best = min(candidates.values())
    tied = [t for t, m in candidates.items() if m <= best + TIE_BPM]
    return min(tied, key=lambda t: abs(t - PRIOR_BPM))
