"""The chrominance wave: POS (Wang et al. 2017, "Algorithmic principles of remote PPG", IEEE TBME
64(7); classic_methods.py) of a clip's mean skin colour, in the domain of PhysNet's wave.

PhysLLM reads it beside the backbone's wave (`model.physllm.PhysLLMConfig.chrominance`, ours):
training makes it from the shards' `rgb_mean` column (train/data.py), `physllm predict` from the
clips of a new video, through this one function.
"""

from __future__ import annotations

import numpy as np

from physllm import pulse
from physllm.classic_methods import pos


def chrominance_wave(rgb_mean: np.ndarray, fps: float) -> np.ndarray:
    """A clip's mean skin colour (T, 3) → POS's pulse as DiffNormalized first differences,
    z-scored, like PhysNet's wave; (T,) float32."""
    return pulse.zscore(pulse.diff_normalize_label(pos(rgb_mean, fps))).astype(np.float32)
