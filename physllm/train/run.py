"""`physllm train`'s entry point: the recipe in this process, or on several Ray Train workers.

trainer.py holds the recipe and distributed.py runs it on Ray Train workers; this module picks
one, so that neither of the two imports the other's caller (distributed.py builds on trainer.py).
"""

from __future__ import annotations

from physllm.train.trainer import TrainConfig, TrainResult, train_one_process


def train(cfg: TrainConfig) -> TrainResult:
    """Train PhysLLM on cached cues; several Ray Train workers when cfg.num_workers > 1."""
    if cfg.num_workers > 1:
        from physllm.train.distributed import train_distributed  # Ray Train only when asked for

        return train_distributed(cfg)
    return train_one_process(cfg)
