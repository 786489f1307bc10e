"""The frozen PhysNet backbone run over clips (training one when none is given:
backbone_training.py).

`BackboneRunner`: the model loads once per worker, its BatchNorms folded into its convolutions
(`fold_batchnorm`), and sees DiffNormalized clips in batches (rPPG-Toolbox's PhysNet input,
model/physnet.py), under `torch.inference_mode`, with bf16 autocast on CUDA. The toolbox
normalises a whole video before chunking; a streaming
pipeline normalises each clip (the std differs slightly; the model's output is scale-robust
through its BatchNorm layers and is z-scored downstream anyway).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from physllm.device import resolve_device
from physllm.model.physnet import diff_normalize_frames, fold_batchnorm, load_physnet


class BackboneOutput(NamedTuple):
    wave: np.ndarray  # float32 (B, T), DiffNormalized domain
    features: list[np.ndarray]  # 4 × float32 (B, 64, T_s)


def to_model_input(frames: np.ndarray) -> torch.Tensor:
    """uint8 crops (B, T, H, W, 3) → DiffNormalized float32 (B, 3, T, H, W), one clip at a time."""
    stacked = np.stack([diff_normalize_frames(clip) for clip in frames])  # (B, T, H, W, 3)
    return torch.from_numpy(stacked).permute(0, 4, 1, 2, 3)  # (B, 3, T, H, W)


# On a CPU, PhysNet reads 2 clips at a time faster than 8 (520 vs 430-490 frames/s on one thread,
# 900 vs 810-840 on two) with half the peak memory (490 vs 920 MB): its activations at 8 clips
# outgrow the caches (measured for issue 25). A GPU takes the batch asked for.
CPU_BATCH = 2


class BackboneRunner:
    """A frozen PhysNet loaded once; `run(frames)` → waves and the 4 pooled encoder features."""

    def __init__(self, checkpoint_path: str | Path, device: str | None = None, batch_size: int = 8,
                 threads: int | None = None):
        if threads:  # Ray sets OMP_NUM_THREADS=1 in workers; use the CPUs the worker was given
            torch.set_num_threads(threads)
        self.device = resolve_device(device)
        self.batch_size = batch_size if self.device.type == "cuda" else min(batch_size, CPU_BATCH)
        self.model = fold_batchnorm(load_physnet(checkpoint_path, map_location=self.device))

    @torch.inference_mode()
    def run(self, frames: np.ndarray) -> BackboneOutput:
        """frames: uint8 (N, T, H, W, 3) face crops → waves (N, T) and features 4 × (N, 64, T_s)."""
        waves, features = [], []
        for start in range(0, len(frames), self.batch_size):
            x = to_model_input(frames[start:start + self.batch_size]).to(self.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                out = self.model(x)
            waves.append(out.wave.float().cpu().numpy())
            features.append([f.float().cpu().numpy() for f in out.features])
        return BackboneOutput(np.concatenate(waves), [np.concatenate(f) for f in zip(*features)])
