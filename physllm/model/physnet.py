"""PhysNet, the frozen rPPG backbone, state-dict compatible with rPPG-Toolbox.

The 3D-CNN encoder–decoder of Yu et al., "Remote Photoplethysmograph Signal Measurement from
Facial Videos Using Spatio-Temporal Networks" (BMVC 2019), laid out exactly as rPPG-Toolbox's
`PhysNet_padding_Encoder_Decoder_MAX` (neural_methods/model/PhysNet.py), so that the toolbox's
released checkpoints load unchanged. PhysLLM (Xie et al., ICLR 2026) reads its output waveform
and its encoder stages, pooled over space, as multi-scale features.

The checkpoints were trained (configs/train_configs/*_PHYSNET_BASIC.yaml) on Haar face crops
with a 1.5× box, resized to 72×72, DiffNormalized frames and labels, 128-frame chunks: the
output is a DiffNormalized pulse (frame-to-frame differences), to be integrated before HR.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn

from physllm.errors import CheckpointError

FEATURE_CHANNELS = 64  # every encoder stage the features come from has 64 channels
FEATURE_SCALES = (1, 2, 4, 4)  # temporal down-sampling of ConvBlock3, 5, 7, 9 outputs


@dataclass
class PhysNetConfig:
    frames: int = 128  # MODEL.PHYSNET.FRAME_NUM and CHUNK_LENGTH in the toolbox's PhysNet configs
    in_channels: int = 3  # DATA_TYPE ['DiffNormalized']: one RGB stack
    image_size: int = 72  # PREPROCESS.RESIZE.H/W in the same configs


class PhysNetOutput(NamedTuple):
    wave: torch.Tensor  # (B, T) the toolbox's rPPG output, DiffNormalized domain
    features: list[torch.Tensor]  # 4 × (B, 64, T_s), T_s = T // FEATURE_SCALES[i]


def feature_shapes(frames: int) -> list[tuple[int, int]]:
    """(channels, time) of each feature map for a clip of `frames` frames."""
    return [(FEATURE_CHANNELS, frames // scale) for scale in FEATURE_SCALES]


def _conv_block(c_in: int, c_out: int, kernel: tuple[int, int, int],
                padding: tuple[int, int, int]) -> nn.Sequential:
    # Sequential indices 0/1 give the toolbox's keys: ConvBlockN.0.weight, ConvBlockN.1.running_mean
    return nn.Sequential(nn.Conv3d(c_in, c_out, kernel, stride=1, padding=padding),
                         nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


def _upsample_block(channels: int) -> nn.Sequential:
    """Doubles time, keeps space: the decoder's transposed convolution."""
    return nn.Sequential(
        nn.ConvTranspose3d(channels, channels, kernel_size=(4, 1, 1), stride=(2, 1, 1),
                           padding=(1, 0, 0)),
        nn.BatchNorm3d(channels), nn.ELU())


class PhysNet(nn.Module):
    """rPPG-Toolbox's `PhysNet_padding_Encoder_Decoder_MAX`, returning pooled encoder stages too.

    Works for any T divisible by 4 (the toolbox's spatial pooling to a fixed `frames` only
    works for T == frames; for that T the two agree).
    """

    def __init__(self, config: PhysNetConfig | None = None):
        super().__init__()
        self.config = config or PhysNetConfig()
        k3, p1 = (3, 3, 3), (1, 1, 1)
        self.ConvBlock1 = _conv_block(self.config.in_channels, 16, (1, 5, 5), (0, 2, 2))
        self.ConvBlock2 = _conv_block(16, 32, k3, p1)
        self.ConvBlock3 = _conv_block(32, 64, k3, p1)
        self.ConvBlock4 = _conv_block(64, 64, k3, p1)
        self.ConvBlock5 = _conv_block(64, 64, k3, p1)
        self.ConvBlock6 = _conv_block(64, 64, k3, p1)
        self.ConvBlock7 = _conv_block(64, 64, k3, p1)
        self.ConvBlock8 = _conv_block(64, 64, k3, p1)
        self.ConvBlock9 = _conv_block(64, 64, k3, p1)
        self.upsample = _upsample_block(64)
        self.upsample2 = _upsample_block(64)
        self.ConvBlock10 = nn.Conv3d(64, 1, (1, 1, 1), stride=1, padding=0)
        self.MaxpoolSpa = nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2))
        self.MaxpoolSpaTem = nn.MaxPool3d((2, 2, 2), stride=2)

    def forward(self, x: torch.Tensor) -> PhysNetOutput:
        batch, _, length, _, _ = x.shape  # (B, C, T, H, W)
        if length % 4:
            raise ValueError(f"PhysNet needs a clip length divisible by 4, got {length}")
        x = self.MaxpoolSpa(self.ConvBlock1(x))  # (B, 16, T, H/2, W/2)
        s1 = self.ConvBlock3(self.ConvBlock2(x))  # (B, 64, T, H/2, W/2)
        x = self.MaxpoolSpaTem(s1)  # (B, 64, T/2, H/4, W/4)
        s2 = self.ConvBlock5(self.ConvBlock4(x))  # (B, 64, T/2, H/4, W/4)
        x = self.MaxpoolSpaTem(s2)  # (B, 64, T/4, H/8, W/8)
        s3 = self.ConvBlock7(self.ConvBlock6(x))  # (B, 64, T/4, H/8, W/8)
        x = self.MaxpoolSpa(s3)  # (B, 64, T/4, H/16, W/16)
        s4 = self.ConvBlock9(self.ConvBlock8(x))  # (B, 64, T/4, H/16, W/16)
        x = self.upsample2(self.upsample(s4))  # (B, 64, T, H/16, W/16)
        x = x.mean(dim=(3, 4), keepdim=True)  # (B, 64, T, 1, 1): the toolbox's poolspa
        wave = self.ConvBlock10(x).view(batch, length)  # (B, T)
        features = [s.mean(dim=(3, 4)) for s in (s1, s2, s3, s4)]  # 4 × (B, 64, T_s)
        return PhysNetOutput(wave=wave, features=features)


def diff_normalize_frames(frames: np.ndarray) -> np.ndarray:
    """rPPG-Toolbox's DiffNormalized input (BaseLoader.diff_normalize_data).

    (c[t+1] − c[t]) / (c[t+1] + c[t] + 1e-7) per pixel and channel, divided by the std over
    all of it, a zero frame appended so T is kept; NaNs become 0. The toolbox applies it to
    a whole video before chunking; the std is taken over whatever span is passed here.
    frames: (T, H, W, 3) uint8 or float → float32 (T, H, W, 3).
    """
    data = np.asarray(frames, dtype=np.float32)  # uint8 differences would wrap around; pixel
    # sums are exact in float32, the ratio within 1e-7 of float64's at a third of the cost
    out = np.zeros_like(data)
    np.divide(data[1:] - data[:-1], data[1:] + data[:-1] + 1e-7, out=out[:-1])  # (T-1, H, W, 3)
    out[np.isnan(out)] = 0.0
    std = out[:-1].std(dtype=np.float64)  # accumulated in float64: millions of terms
    if std > 0:
        out /= np.float32(std)
    return out


def fold_batchnorm(model: PhysNet) -> PhysNet:
    """`model` for inference with each BatchNorm folded into the convolution before it (an
    eval-mode BatchNorm is a per-channel affine map: w' = w·γ/σ, b' = (b − μ)·γ/σ + β;
    torch.nn.utils.fusion). The same outputs within float error; ~1.2x faster on a CPU core
    (bench/precompute.py). In place; the model can no longer be trained."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for block in model.children():
        if isinstance(block, nn.Sequential) and isinstance(block[1], nn.BatchNorm3d):
            block[0] = fuse_conv_bn_eval(block[0], block[1], transpose=isinstance(block[0], nn.ConvTranspose3d))
            block[1] = nn.Identity()
    return model


def _read_state_dict(path: Path, map_location) -> Mapping[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:  # torch's own text would advise weights_only=False: never
        raise CheckpointError(f"{path}: not a PyTorch checkpoint of tensors alone (its pickle "
                              f"names other objects, or is no pickle at all: refused, nothing "
                              f"in it was run); expected a PhysNet state_dict .pth") from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        raise CheckpointError(f"{path}: not a PyTorch checkpoint that loads with weights_only=True "
                              f"({type(exc).__name__}: {first_line})") from None
    # physllm's own backbone training saves {"state_dict": ..., "physllm": provenance}
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a PhysNet state_dict (names → tensors) or "
                              f"{{'state_dict': ...}}, got {type(obj).__name__}")
    # DataParallel checkpoints prefix every key with "module."
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _check_keys(path: Path, state: Mapping[str, torch.Tensor], model: PhysNet) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
                  for k in sorted(set(state) & set(expected)) if state[k].shape != expected[k].shape]
    if missing or unexpected or mismatched:
        raise CheckpointError(
            f"{path}: does not fit rPPG-Toolbox's PhysNet_padding_Encoder_Decoder_MAX "
            f"(missing: {missing or 'none'}; unexpected: {unexpected or 'none'}; "
            f"mismatched shapes: {mismatched or 'none'})")


def load_physnet(path: str | Path, map_location: str | torch.device = "cpu",
                 config: PhysNetConfig | None = None) -> PhysNet:
    """A PhysNet with the weights of a toolbox or physllm checkpoint, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: PhysNet checkpoint not found (expected a .pth file)")
    state = _read_state_dict(path, map_location)
    model = PhysNet(config)
    _check_keys(path, state, model)
    model.load_state_dict(state)
    return model.to(map_location).eval()
