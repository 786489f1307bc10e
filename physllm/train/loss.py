"""The training objective: the authors' waveform MSE, plus a spectral term on the heart-rate band.

    L = MSE(z(pred), z(label)) + λ · KL(S(label) ‖ S(pred))

The MSE on per-sample z-scored waves is the authors' (docs/FACTS.md, "Reference
hyper-parameters"); it equals 2·(1 − Pearson r), so it is PhysNet's own neg-Pearson objective.
On DiffNormalized waves (first differences) it weighs every frequency by ω², so most of it is
spent on noise above the pulse band, while the metric is the FFT peak inside 0.75–2.5 Hz.

The spectral term is ours (in the spirit of PhysFormer's frequency cross-entropy, Yu et al.,
CVPR 2022): S(x) is the power of the Hann-windowed clip at 1-bpm steps across the evaluation
band, normalised to sum to 1, and the KL divergence pulls the prediction's band spectrum
towards the label's. It is computed by a DFT at those frequencies (a (T, F) matrix product), so
each clip's frame rate sets the frequencies and the grid is 1 bpm whatever the clip's length
(the Hann window keeps a short clip's leakage from other bins small).

λ defaults to 0 (TrainConfig.spectral_weight): with the flatten head the term kept training from
drifting off the heart rate; with the default token head the MSE alone did as well or better
(`git show 6a66b69:README.md`, "Accuracy").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from physllm.pulse import HIGH_HZ, LOW_HZ, zscore

EPS = 1e-8  # z-scoring a prediction and normalising a spectrum: guards a constant output only
BAND_BPM_STEP = 1.0  # spectral resolution of the band: 1 bpm, finer than any clip's FFT bin


def band_spectrum(x: torch.Tensor, fps: torch.Tensor) -> torch.Tensor:
    """(B, T) waves, (B,) frame rates → (B, F) power at 1-bpm steps over LOW_HZ–HIGH_HZ, summing to 1."""
    T = x.shape[-1]
    freqs = torch.arange(LOW_HZ * 60, HIGH_HZ * 60 + BAND_BPM_STEP / 2, BAND_BPM_STEP,
                         device=x.device, dtype=x.dtype) / 60  # (F,) Hz
    t = torch.arange(T, device=x.device, dtype=x.dtype) / fps.to(x)[:, None]  # (B, T) seconds
    phase = 2 * math.pi * freqs[None, :, None] * t[:, None, :]  # (B, F, T)
    x = (x - x.mean(-1, keepdim=True)) * torch.hann_window(T, periodic=False, device=x.device, dtype=x.dtype)
    re = (torch.cos(phase) @ x.unsqueeze(-1)).squeeze(-1)  # (B, F)
    im = (torch.sin(phase) @ x.unsqueeze(-1)).squeeze(-1)
    power = re.square() + im.square()
    return power / (power.sum(-1, keepdim=True) + EPS)


def spectral_loss(pred: torch.Tensor, target: torch.Tensor, fps: torch.Tensor) -> torch.Tensor:
    """KL(S(target) ‖ S(pred)), averaged over the batch: (B, T), (B, T), (B,) → scalar."""
    p_target = band_spectrum(target.float(), fps)
    log_pred = torch.log(band_spectrum(pred.float(), fps) + EPS)
    return F.kl_div(log_pred, p_target, reduction="batchmean")


def backbone_loss(pred: torch.Tensor, backbone_wave: torch.Tensor) -> torch.Tensor:
    """MSE between the z-scored prediction and the z-scored frozen PhysNet wave (ours): a pull
    towards the backbone's answer, so that the correction is spent only where it pays."""
    return F.mse_loss(zscore(pred.float(), EPS, ddof=1), zscore(backbone_wave.float(), EPS, ddof=1))


def pulse_loss(pred: torch.Tensor, target: torch.Tensor, fps: torch.Tensor | None = None,
               spectral_weight: float = 0.0) -> torch.Tensor:
    """MSE of the z-scored prediction against the (already z-scored) label, (B, T) each, plus
    `spectral_weight` × the spectral term (which needs the clips' `fps`)."""
    loss = F.mse_loss(zscore(pred.float(), EPS, ddof=1), target.float())
    if spectral_weight:
        loss = loss + spectral_weight * spectral_loss(pred, target, fps)
    return loss
