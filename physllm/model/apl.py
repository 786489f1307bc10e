"""Adaptive Prompt Learning (APL), PhysLLM Sec. 3.5.

Text cues come in types — the task description, the LLaVA scene description, the waveform
statistics — each of unbounded length. APL embeds each with the LLM's own frozen token
embeddings, compresses it to k tokens with learned queries cross-attending over the text
(padding masked; the authors' `AttentiveCompressor`), and weighs the types per sample:

    w = softmax_c(gate(mean-pool(E_c)))          over cue types c, per sample
    cue_tokens = [C·w_1·Q_1; …; C·w_C·Q_C]       (B, C·k, d)

The factor C makes uniform weights the identity, so a fresh gate leaves token scales alone.
"""

from dataclasses import dataclass

import torch
from torch import nn

CUE_TYPES = ("task", "vision", "stats")  # paper Sec. 3.5: task, visual, statistical prompts


@dataclass
class APLConfig:
    cue_types: tuple[str, ...] = CUE_TYPES  # the three prompt kinds of the paper
    tokens_per_cue: int = 8  # compressed length per type (our choice: the paper gives none)
    max_cue_tokens: int = 256  # tokenizer truncation; LLaVA describes in ≤200 new tokens (authors)
    num_heads: int = 8  # as the TPG block (authors' code uses 8 heads throughout)
    gate_hidden: int = 64  # width of the small type-weighting gate (our choice)
    dropout: float = 0.1  # attention dropout, Time-LLM's default
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"tokens_per_cue": ">= 1", "max_cue_tokens": ">= 1", "num_heads": ">= 1", "gate_hidden": ">= 1",
              "dropout": "[0, 1)"}


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, d), (B, L) bool → (B, d) mean over the unmasked positions."""
    m = mask.unsqueeze(-1).to(x.dtype)  # (B, L, 1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


class APL(nn.Module):
    """{type: (input_ids, attention_mask)} + frozen embedding → (B, C·k, d) cue tokens."""

    def __init__(self, cfg: APLConfig, width: int):
        super().__init__()
        self.cfg = cfg
        self.queries = nn.ParameterDict(
            {c: nn.Parameter(torch.randn(cfg.tokens_per_cue, width) * 0.02) for c in cfg.cue_types}
        )
        self.compress = nn.MultiheadAttention(width, cfg.num_heads, cfg.dropout, batch_first=True)
        # no bias on the last layer: one constant added to every type's logit cancels in the softmax
        self.gate = nn.Sequential(nn.Linear(width, cfg.gate_hidden), nn.GELU(),
                                  nn.Linear(cfg.gate_hidden, 1, bias=False))

    def compress_one(self, cue: str, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L, d) text embeddings → (B, k, d) via the type's learned queries."""
        q = self.queries[cue].unsqueeze(0).expand(embeds.shape[0], -1, -1)  # (B, k, d)
        out, _ = self.compress(q, embeds, embeds, key_padding_mask=~mask, need_weights=False)
        return out

    def type_weights(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, C, d) pooled cue embeddings → (B, C) weights with mean 1 over types."""
        return self.gate(pooled).squeeze(-1).softmax(-1) * pooled.shape[1]

    def forward(self, cue_tokens: dict[str, dict[str, torch.Tensor]], embed: nn.Embedding) -> torch.Tensor:
        compressed, pooled = [], []
        device = embed.weight.device
        for cue in self.cfg.cue_types:
            mask = cue_tokens[cue]["attention_mask"].to(device).bool()  # (B, L)
            empty = ~mask.any(1, keepdim=True)  # (B, 1): an empty text still needs one key to attend to
            mask = torch.cat([mask[:, :1] | empty, mask[:, 1:]], 1)
            ids = cue_tokens[cue]["input_ids"].to(device)
            embeds = embed(ids).to(self.gate[0].weight.dtype)  # (B, L, d); the LLM's may be bf16
            compressed.append(self.compress_one(cue, embeds, mask))
            pooled.append(masked_mean(embeds, mask))
        weights = self.type_weights(torch.stack(pooled, 1))  # (B, C)
        tokens = torch.stack(compressed, 1) * weights[..., None, None]  # (B, C, k, d)
        return tokens.flatten(1, 2)  # (B, C·k, d)
