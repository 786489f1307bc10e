"""Calibrating the per-video fallback (`PhysLLMConfig.gate_tolerance_bpm` and `gate_margin_db`,
ours) on validation videos.

PhysLLM's outputs over the validation split and the videos' signals and inputs, read once for the
validation metrics too (train/validation.py), are gated by each candidate setting video by video
(`cues.quality.video_gate`: PhysLLM's wave where its HR lies within the tolerance of the trusted
input's, or of the other input's where the trusted one is surer by less than the margin; the trusted
input's wave otherwise), and the whole-video HR MAE (FFT) scores it. The lowest MAE wins; settings
within `TIE_BPM` of it count as equal, and among those the smallest margin, then the tolerance
nearest `PRIOR_BPM`, is kept. A tolerance of `None` (never fall back) is scored and reported
(`val_mae_ungated`) but never chosen: the validation split is one domain, and a model that beats its
inputs there may follow a wrong input on the next. Measured: the plain demo (its own
renderer-trained PhysNet) chose none on renderer 2's validation half and then read the test half at
26.57 bpm against POS's 14.62, following its PhysNet; renderer-2-trained ablations that chose none
read a real clip 44 bpm off. The margin is the middle way: where the inputs' SNRs cannot tell which
of them is right, a PhysLLM reading one of them stands, and a reading of neither still falls back.
Measured: with the released PURE PhysNet, trained on renderer 2 and tested on renderer 1, the
fallback replaced PhysLLM's right reading of one video (POS's rate, −2.6 dB) with that PhysNet's
wrong one (−2.3 dB): 5.13 bpm without the fallback, 12.16 with it (POS 5.12).

Why a prior: a validation split holds a handful of videos and often cannot tell the tolerances
apart. 6 bpm is the half-width of the field's SNR window (de Haan & Jeanne 2013, `pulse.snr_db`):
two heart rates closer than that are one spectral peak by the field's own measure.
Why per video and not per clip: on the real vitallens clips the inputs' SNR picks the right
reader for both whole videos but for only 4 of 6 of their 4-s clips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from physllm.cues.quality import GateInputs
from physllm.evaluation.report import VideoSignals, evaluate_videos
from physllm.train.inference import gated, mae_of

TOLERANCES = (None, 10.0, 6.0, 3.0, 0.0)  # bpm; None (never fall back) scored, not chosen; 0 always falls back
MARGINS_DB = (0.0, 3.0, 6.0)  # an SNR twice, four times the other's; 0: the trusted input always decides
PRIOR_BPM = 6.0  # the tie-break (module doc)
TIE_BPM = 0.25  # validation MAEs this close are a tie

Setting = tuple[float | None, float]  # (tolerance_bpm, margin_db)


@dataclass
class Calibration:
    tolerance_bpm: float
    margin_db: float
    mae: dict[Setting, float] = field(default_factory=dict)  # whole-video validation MAE per setting

    @property
    def ungated_mae(self) -> float:
        return self.mae[(None, 0.0)]


def calibrate_gate(signals: Sequence[VideoSignals], inputs: Sequence[GateInputs],
                   tolerances: Sequence[float | None] = TOLERANCES,
                   margins: Sequence[float] = MARGINS_DB) -> Calibration:
    """The setting chosen on these videos (their signals with PhysLLM's joined outputs, and each
    one's `inputs_of`, read once; module doc), and the MAE of each."""
    settings = [(None, 0.0)] + [(t, m) for t in tolerances if t is not None for m in margins]
    mae = {(t, m): mae_of(evaluate_videos(gated(signals, t, m, inputs), scenarios=[]), "physllm")
           for t, m in settings}
    return Calibration(*choose_setting(mae), mae)


def choose_setting(mae: dict[Setting, float]) -> Setting:
    """{(tolerance, margin): validation MAE} → the setting kept, never a tolerance of None (see the
    module doc)."""
    candidates = {s: m for s, m in mae.items() if s[0] is not None}
    best = min(candidates.values())
    tied = [s for s, m in candidates.items() if m <= best + TIE_BPM]
    return min(tied, key=lambda s: (s[1], abs(s[0] - PRIOR_BPM)))
