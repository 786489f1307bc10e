"""Visual Aggregation (VA) block, PhysLLM Sec. 3.3.

PhysNet's encoder stages see the face at several temporal scales. Each map (B, C, T_s),
already pooled over space by the pipeline, is resampled in time to the N signal tokens and
lifted by its own MLP to the LLM width d. The deepest map F_M queries the others:

    F_self   = SelfAttn(F_M)
    F_cross  = CrossAttn(query=F_M, key=value=[F_1; …; F_{M−1}])
    F_visual = F_base + γ2 ⊙ (F_cross + γ1 ⊙ F_self),   F_base = mean_m F_m (ours) or F_M (paper)

γ1, γ2 are per-channel and start at zero (authors' code), so VA begins as its residual base
and learns how much multi-scale context to let in.

The base is ours by default: the mean of all M lifted maps, position by position, instead of
F_M alone (`base="deepest"` is the paper's Eq.). The attentions carry no positions, so through
them a shallow map's frames reach a token only by content, never by time; yet the shallow maps
are where the pulse is. Measured on the released UBFC-rPPG PhysNet's features of 80 synthetic
videos (`git show 6a66b69:README.md`, "Accuracy"): a linear read-out of the deepest map alone predicts validation
clips' pulse at MSE 1.11, of all four maps at 0.73. The authors' code has the same mean as its
`MultiAverageFeatureFusion`.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from physllm.errors import PhysllmError


@dataclass
class VAConfig:
    num_heads: int = 8  # attention heads, as the TPG block (authors' code uses 8 throughout)
    mlp_ratio: int = 1  # MLP hidden = mlp_ratio · d ("MLP to the LLM width", paper Sec. 3.3)
    dropout: float = 0.1  # attention dropout, Time-LLM's default
    base: str = "mean"  # ours: mean of all scales; "deepest" = F_M alone (paper Eq.)
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"num_heads": ">= 1", "mlp_ratio": ">= 1", "dropout": "[0, 1)"}


class VA(nn.Module):
    """[(B, C, T_s)] × M scales → (B, N, d) visual tokens; the last map is the deepest."""

    def __init__(self, cfg: VAConfig, in_channels: int, num_scales: int, width: int):
        super().__init__()
        if num_scales < 2:
            raise ValueError(f"VA needs at least two feature scales, got {num_scales}")
        if cfg.base not in ("mean", "deepest"):
            raise PhysllmError(f"unknown VA base {cfg.base!r}: expected 'mean' or 'deepest'")
        hidden = cfg.mlp_ratio * width
        self.lift = nn.ModuleList(
            nn.Sequential(nn.Linear(in_channels, hidden), nn.GELU(), nn.Linear(hidden, width))
            for _ in range(num_scales)
        )
        self.self_attn = nn.MultiheadAttention(width, cfg.num_heads, cfg.dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(width, cfg.num_heads, cfg.dropout, batch_first=True)
        self.gamma1 = nn.Parameter(torch.zeros(width))
        self.gamma2 = nn.Parameter(torch.zeros(width))
        self.base = cfg.base

    def tokens(self, features: list[torch.Tensor], num_tokens: int) -> list[torch.Tensor]:
        """Each (B, C, T_s) map → (B, N, d): average-pool time to N, then its MLP."""
        pooled = (F.adaptive_avg_pool1d(f, num_tokens).transpose(1, 2) for f in features)  # (B, N, C)
        return [mlp(p) for mlp, p in zip(self.lift, pooled)]

    def forward(self, features: list[torch.Tensor], num_tokens: int) -> torch.Tensor:
        scales = self.tokens(features, num_tokens)
        *shallow, deepest = scales
        context = torch.cat(shallow, dim=1)  # (B, (M−1)·N, d)
        f_self, _ = self.self_attn(deepest, deepest, deepest, need_weights=False)
        f_cross, _ = self.cross_attn(deepest, context, context, need_weights=False)
        base = deepest if self.base == "deepest" else torch.stack(scales).mean(0)  # (B, N, d)
        return base + self.gamma2 * (f_cross + self.gamma1 * f_self)  # (B, N, d)
