"""Cue-level augmentation of training clips (ours): the pulse's tempo, the wave's noise, the features' gain.

A cached clip is the frozen PhysNet's wave (T,), its feature maps [(64, T_s)], the chrominance
wave (T,) and the label (T,), all over the same T frames. Each augmented clip is
- time-stretched by s in `stretch` (both waves, every feature map and the label alike, linear
  interpolation over a random window of T/s frames), so the heart rate a clip shows is not one
  the training set happened to hold: the correction must follow the backbone's frequency rather
  than learn a prior over heart rates (the renderer's range);
- given white noise on each wave (a fraction of its std), as a weaker camera or backbone gives;
- given a gain per feature channel (1 ± `feature_gain`), as another face, light or camera moves
  PhysNet's activations.
- and, independently of the above, its trust pattern varied (`corrupt`): PhysNet's wave, the
  chrominance wave, or both replaced by a wrong reading of the same clip (the wave, z-scored,
  plus an interference as strong or up to `interference` times stronger: a tone at another
  in-band rate with its harmonic, as motion or flicker a method locks onto, or band-limited
  noise, as a weak signal gives), PhysNet's feature maps given noise with its wave. The label is
  kept, so the model learns to read the clip's quality (cues.quality) rather than a trust
  pattern of the renderer. The shares (`corrupt`) are chosen so that neither input is right on
  every clip: with the renders' own pattern (PhysNet wrong on most hard clips, POS right on
  most) they give each input a comparable share of clips where only it holds the pulse.
The cue texts stay those of the original clip. Time-LLM and the paper train without augmentation;
the stretch is the frequency augmentation of contrastive rPPG (Gideon & Stent, "The way to my
heart is through contrastive learning", ICCV 2021).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from physllm import pulse

ClipT = TypeVar("ClipT")  # train.data.ShardClip: a dataclass with wave, chroma, features, target (not imported: data imports this)


@dataclass(frozen=True)
class AugmentConfig:
    probability: float = 0.5  # share of training clips augmented; the rest are seen as cached
    stretch: tuple[float, float] = (1.0, 1.3)  # s ≥ 1: a window of T/s frames spread over T (a clip holds no more)
    wave_noise: float = 0.3  # noise std as a fraction of the wave's std
    feature_gain: float = 0.2  # channel gains drawn from [1 − g, 1 + g]
    # shares of clips whose PhysNet wave alone, chrominance wave alone, or both are corrupted
    # (the rest keep the rendered pattern); why these: the module doc
    corrupt: tuple[float, float, float] = (0.15, 0.3, 0.05)
    interference: float = 3.0  # interference std up to this many times the z-scored wave's
    fps: float = 30.0  # the clips' frame rate, for the interference's frequencies


def stretch_window(x: np.ndarray, start: float, factor: float, frames: int) -> np.ndarray:
    """(..., L) covering `frames` frames → (..., L): the window [start, start + frames/factor)
    resampled onto the whole length."""
    length = x.shape[-1]
    step = frames / length  # frames per sample
    centres = start + (np.arange(length) + 0.5) * step / factor  # in frames
    positions = centres / step - 0.5  # in samples of x
    flat = x.reshape(-1, length)
    out = np.stack([np.interp(positions, np.arange(length), row) for row in flat])
    return out.reshape(x.shape).astype(x.dtype)


def augment_clip(clip: ClipT, cfg: AugmentConfig, rng: np.random.Generator) -> ClipT:
    clip = corrupt_inputs(clip, cfg, rng)
    if rng.uniform() >= cfg.probability:
        return clip
    frames = clip.wave.shape[-1]
    factor = rng.uniform(*cfg.stretch)
    start = rng.uniform(0, frames - frames / factor)
    wave, chroma = (noisy(stretch_window(w, start, factor, frames), cfg.wave_noise, rng)
                    for w in (clip.wave, clip.chroma))
    features = [stretch_window(f, start, factor, frames)
                * rng.uniform(1 - cfg.feature_gain, 1 + cfg.feature_gain, (f.shape[0], 1)).astype(f.dtype)
                for f in clip.features]
    target = pulse.zscore(stretch_window(clip.target, start, factor, frames)).astype(np.float32)
    return replace(clip, wave=wave, chroma=chroma, features=features, target=target)


def noisy(wave: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    return wave + (fraction * wave.std() * rng.standard_normal(wave.shape)).astype(wave.dtype)


def corrupt_inputs(clip: ClipT, cfg: AugmentConfig, rng: np.random.Generator) -> ClipT:
    """The clip with PhysNet's wave, the chrominance wave, both or neither made wrong (`corrupt`)."""
    backbone_only, chroma_only, both = cfg.corrupt
    draw = rng.uniform()
    bad_backbone = draw < backbone_only or backbone_only + chroma_only <= draw < backbone_only + chroma_only + both
    bad_chroma = backbone_only <= draw < backbone_only + chroma_only + both
    if bad_backbone:
        clip = replace(clip, wave=wrong_reading(clip.wave, cfg, rng),
                       features=[noisy(f, 1.0, rng) for f in clip.features])
    if bad_chroma:
        clip = replace(clip, chroma=wrong_reading(clip.chroma, cfg, rng))
    return clip


def wrong_reading(wave: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """(T,) → (T,) in the wave's scale: the z-scored wave plus an interference 1 to
    `interference` times as strong (module doc)."""
    t = np.arange(wave.shape[-1]) / cfg.fps
    if rng.uniform() < 0.5:  # a rhythm the method locks onto: a tone and its harmonic
        hz, phase = rng.uniform(pulse.LOW_HZ, pulse.HIGH_HZ), rng.uniform(0, 2 * np.pi, 2)
        interference = np.sin(2 * np.pi * hz * t + phase[0]) + 0.4 * np.sin(4 * np.pi * hz * t + phase[1])
    else:  # a weak signal: noise in and around the pulse band
        interference = pulse.bandpass(rng.standard_normal(len(t)), cfg.fps, 0.5, 4.0)
    interference = pulse.zscore(interference) * rng.uniform(1.0, cfg.interference)
    return (pulse.zscore(wave) + interference).astype(wave.dtype) * wave.std()
