"""Text Prototype Guidance (TPG), PhysLLM Sec. 3.4, after Time-LLM's reprogramming layer.

The LLM reads words, not pulses. TPG rewrites each input token as a mixture of text
prototypes: P prototypes are a learned linear map of the LLM's frozen word-embedding matrix
(V → P rows), and every token attends over them with multi-head cross-attention
(Time-LLM `ReprogrammingLayer`: queries from the tokens, keys and values from the prototypes,
no softmax over the vocabulary itself). One instance serves both signal and vision tokens,
so both land in the same prototype space.

Unlike Time-LLM, the token is added back to its reprogrammed self (a residual path). At
initialisation the attention over prototypes is near uniform, so without it every token
becomes about the same prototype average: on our data the gradient reaching the patch
embedding was 1e-5 of TPG's own and training never learned from the waveform.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class TPGConfig:
    num_prototypes: int = 32  # authors' code `num_tokens = 32` (Time-LLM uses 1000)
    num_heads: int = 8  # authors' code and Time-LLM `n_heads`
    head_dim: int = 128  # per-head key width: Time-LLM passes d_ff=128 as `d_keys`
    dropout: float = 0.1  # attention dropout, Time-LLM `attention_dropout`
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"num_prototypes": ">= 1", "num_heads": ">= 1", "head_dim": ">= 1", "dropout": "[0, 1)"}


class TPG(nn.Module):
    """(B, L, d_in) tokens + (V, d_llm) frozen word embeddings → (B, L, d_llm)."""

    def __init__(self, cfg: TPGConfig, d_in: int, d_llm: int, vocab_size: int):
        super().__init__()
        self.cfg = cfg
        inner = cfg.num_heads * cfg.head_dim
        self.mapping = nn.Linear(vocab_size, cfg.num_prototypes)
        self.query = nn.Linear(d_in, inner)
        self.key = nn.Linear(d_llm, inner)
        self.value = nn.Linear(d_llm, inner)
        self.out = nn.Linear(inner, d_llm)
        self.residual = nn.Identity() if d_in == d_llm else nn.Linear(d_in, d_llm)
        self.dropout = nn.Dropout(cfg.dropout)

    def prototypes(self, word_embeddings: torch.Tensor) -> torch.Tensor:
        """(V, d_llm) → (P, d_llm): each prototype a learned mix of all word embeddings."""
        words = word_embeddings.detach().to(self.mapping.weight.dtype)  # frozen, even if given live
        return self.mapping(words.T).T  # (P, d_llm)

    def forward(self, tokens: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        B, L, _ = tokens.shape
        H, E = self.cfg.num_heads, self.cfg.head_dim
        protos = self.prototypes(word_embeddings)
        q = self.query(tokens).view(B, L, H, E).transpose(1, 2)  # (B, H, L, E)
        k = self.key(protos).view(-1, H, E).transpose(0, 1)  # (H, P, E)
        v = self.value(protos).view(-1, H, E).transpose(0, 1)  # (H, P, E)
        attn = self.dropout(F.softmax(q @ k.transpose(1, 2) / math.sqrt(E), dim=-1))  # (B, H, L, P)
        out = (attn @ v).transpose(1, 2).reshape(B, L, H * E)  # (B, L, H·E)
        return self.residual(tokens) + self.out(out)  # (B, L, d_llm)
