"""Dual-Domain Stationary (DDS) block, PhysLLM Sec. 3.2.

The raw PhysNet waveform drifts in level and scale (motion, lighting). DDS makes it
stationary twice over and mixes the two views with a learned ratio β:

    x̂      = (x − μ) / (σ + ε)                                 per-sample z-score
    z_time = EWMA_α(x̂)
    z_freq = IDWT({EWMA_α(zscore(c_j))} for c_j in DWT_J(x̂))   per coefficient band
    z      = (1 − β)·z_time + β·z_freq,   β clamped to [0, 1]

EWMA_α: z_0 = y_0, z_t = α·y_t + (1 − α)·z_{t−1}, as in the authors' `TimeSeriesMoudle`.
The DWT/IDWT are `ptwt`'s (differentiable, equal to PyWavelets).
"""

from dataclasses import dataclass

import ptwt
import torch
from torch import nn

from physllm.pulse import zscore


@dataclass
class DDSConfig:
    alpha: float = 0.3  # EWMA weight of the current sample (authors' code, both branches)
    wavelet: str = "db4"  # Daubechies-4, suited to cardiac waveforms (authors' code)
    levels: int = 2  # DWT depth J (authors' code: J=2 keeps the heart-rate band detail)
    beta_init: float = 0.7  # initial frequency-branch ratio (authors' code `dwt_ratio`)
    eps: float = 1e-5  # z-score denominator guard (authors' code `epsilon`)
    mode: str = "zero"  # DWT boundary padding: pytorch_wavelets' DWT1D default, used by the authors
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"alpha": "(0, 1]", "levels": ">= 1", "beta_init": "[0, 1]", "eps": "> 0"}


def ewma(y: torch.Tensor, alpha: float) -> torch.Tensor:
    """EWMA along the last axis as one matrix product (the recursion unrolled, differentiable)."""
    n = y.shape[-1]
    t = torch.arange(n, device=y.device)
    lag = (t[:, None] - t[None, :]).to(y.dtype)  # (n, n): i − j
    weights = alpha * (1 - alpha) ** lag.clamp(min=0)
    weights[:, 0] = (1 - alpha) ** lag[:, 0]  # z_0 = y_0 carries the whole remaining weight
    weights = weights.tril()  # causal: z_i sees y_0..y_i only
    return y @ weights.T


class DDS(nn.Module):
    """(B, T) raw waveform → (B, T) stationary waveform."""

    def __init__(self, cfg: DDSConfig):
        super().__init__()
        self.cfg = cfg
        self.beta = nn.Parameter(torch.tensor(cfg.beta_init))

    def time_branch(self, x: torch.Tensor) -> torch.Tensor:
        return ewma(x, self.cfg.alpha)

    def freq_branch(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        bands = ptwt.wavedec(x, cfg.wavelet, mode=cfg.mode, level=cfg.levels)  # [cA_J, cD_J, …, cD_1]
        bands = [ewma(zscore(c, cfg.eps, ddof=1), cfg.alpha) for c in bands]
        return ptwt.waverec(bands, cfg.wavelet)[..., : x.shape[-1]]  # the IDWT may add a sample

    def mix_ratio(self) -> torch.Tensor:
        """β clamped to [0, 1] (the paper's convex mix; the authors' code leaves it unclamped)."""
        return self.beta.clamp(0.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Outside autocast, in float32: ptwt's DWT rejects bf16, and a z-score wants the precision.
        with torch.autocast(x.device.type, enabled=False):
            x = zscore(x.to(torch.promote_types(x.dtype, torch.float32)), self.cfg.eps, ddof=1)  # (B, T)
            beta = self.mix_ratio()
            return (1 - beta) * self.time_branch(x) + beta * self.freq_branch(x)
