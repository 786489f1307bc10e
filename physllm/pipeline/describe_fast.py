"""The fast offline describer: measured image properties of a clip, phrased as a short text.

PhysLLM (Xie et al., ICLR 2026) feeds a LLaVA description of each clip's keyframe to the model
as a vision cue: facial regions, skin tone, uneven lighting, shadows, reflections, texture.
This describer measures what such a description would say and what matters for rPPG —
brightness, evenness and stability of the light, contrast, specular highlights, colour cast,
head motion, face size, position and detection coverage — from the clip's 72×72 face crops
and boxes, with vectorised numpy, at a tiny fraction of PhysNet's cost per clip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from physllm.pipeline.clips import Clip

PHRASING_VERSION = 1  # bump when the wording changes, so cached descriptions are recomputed
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma weights
SKIN_CHROMA = np.array([0.43, 0.32, 0.25], dtype=np.float32)  # r,g,b share of sRGB (200,150,120), typical skin
CAST_NAMES = {  # (channel, sign of its departure from skin) → how the cast looks
    (0, 1): "a reddish cast", (0, -1): "a cool, pale cast",
    (1, 1): "a greenish cast", (1, -1): "a magenta cast",
    (2, 1): "a bluish cast", (2, -1): "a warm, yellowish cast",
}


@dataclass(frozen=True)
class FastDescriberConfig:
    """Thresholds of the phrases; heuristics on 8-bit face crops, checked on the synthetic set."""

    dim_luma: float = 70.0  # mean luma below this reads as dim (of 255; ~27% grey)
    bright_luma: float = 190.0  # above this, bright to over-exposed
    uneven_ratio: float = 0.15  # |left − right| or |top − bottom| over the mean: one-sided light
    flicker_cv: float = 0.03  # std/mean of per-frame luma over time: flicker or changing light
    low_contrast: float = 0.12  # spatial std/mean of luma within the crop
    high_contrast: float = 0.35
    highlight_level: int = 250  # a channel at or above this is clipped (specular highlight)
    highlight_share: float = 0.01  # share of clipped pixels worth mentioning
    cast_threshold: float = 0.04  # departure of mean chromaticity from SKIN_CHROMA
    box_still: float = 0.05  # range of the box centre over the clip, in box widths
    box_moving: float = 0.25
    texture_still: float = 0.005  # mean |Δ| of block-averaged luma over its frame mean; 0.5 px/frame
    texture_moving: float = 0.02  # ~2.5 px/frame slide of a 72-px crop
    block: int = 8  # block averaging before frame differences, so sensor noise is not motion


def _luma(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float32) @ LUMA  # (T, H, W)


def _grade(value: float, low: float, high: float, texts: tuple[str, str, str]) -> str:
    """The text for below `low`, between, or above `high`."""
    return texts[0] if value < low else texts[2] if value > high else texts[1]


def _lighting(luma: np.ndarray, cfg: FastDescriberConfig) -> str:
    mean = float(luma.mean()) + 1e-6
    level = _grade(mean, cfg.dim_luma, cfg.bright_luma,
                   ("dimly lit", "well lit", "brightly lit, close to over-exposed"))
    h, w = luma.shape[1:]
    left, right = luma[:, :, : w // 2].mean(), luma[:, :, w // 2:].mean()
    top, bottom = luma[:, : h // 2].mean(), luma[:, h // 2:].mean()
    if abs(left - right) / mean > cfg.uneven_ratio:
        side = "left" if left > right else "right"
        evenness = f"uneven lighting, brighter on the image's {side} side"
    elif abs(top - bottom) / mean > cfg.uneven_ratio:
        evenness = "uneven lighting, with " + ("shadow on the lower face" if top > bottom
                                               else "the upper face in shadow")
    else:
        evenness = "even lighting"
    per_frame = luma.mean(axis=(1, 2))  # (T,)
    stability = ("the light flickers or changes over time" if per_frame.std() / mean > cfg.flicker_cv
                 else "the light is steady")
    return f"The face is {level} with {evenness}; {stability}"


def _contrast_and_highlights(frames: np.ndarray, luma: np.ndarray,
                             cfg: FastDescriberConfig) -> str:
    spatial = float((luma.std(axis=(1, 2)) / (luma.mean(axis=(1, 2)) + 1e-6)).mean())
    text = _grade(spatial, cfg.low_contrast, cfg.high_contrast,
                  ("contrast is low, the skin looks flat", "contrast is moderate",
                   "contrast is high, with strong shadows or highlights"))
    brightest = np.maximum(np.maximum(frames[..., 0], frames[..., 1]), frames[..., 2])  # (T, H, W)
    clipped = float((brightest >= cfg.highlight_level).mean())  # 12x faster than .any(axis=-1)
    if clipped > cfg.highlight_share:
        text += f"; specular reflections clip {clipped:.0%} of the face region"
    return text


def _colour(rgb_mean: np.ndarray, cfg: FastDescriberConfig) -> str:
    """`rgb_mean` (T, 3): the clip's per-frame mean colour, which the clip already carries."""
    mean_rgb = rgb_mean.mean(axis=0)
    departure = mean_rgb / (mean_rgb.sum() + 1e-6) - SKIN_CHROMA  # (3,)
    channel = int(np.argmax(np.abs(departure)))
    if abs(departure[channel]) < cfg.cast_threshold:
        return "skin appears neutral in tone"
    return f"the image has {CAST_NAMES[(channel, int(np.sign(departure[channel])))]}"


def _motion(clip: Clip, luma: np.ndarray, cfg: FastDescriberConfig) -> str:
    boxes = np.asarray(clip.boxes, dtype=np.float32)  # (T, 4) x, y, w, h
    centres = boxes[:, :2] + boxes[:, 2:] / 2  # (T, 2)
    width = max(float(np.median(boxes[:, 2])), 1.0)
    box_range = float(np.linalg.norm(centres.max(axis=0) - centres.min(axis=0))) / width
    t, h, w = luma.shape
    b = cfg.block
    blocks = luma[:, : h // b * b, : w // b * b].reshape(t, h // b, b, w // b, b).mean(axis=(2, 4))
    blocks = blocks / (blocks.mean(axis=(1, 2), keepdims=True) + 1e-6)  # (T, h/b, w/b) flicker out
    texture = float(np.abs(np.diff(blocks, axis=0)).mean()) if t > 1 else 0.0
    if box_range > cfg.box_moving or texture > cfg.texture_moving:
        return "the head moves a lot"
    if box_range > cfg.box_still or texture > cfg.texture_still:
        return "the head moves slightly"
    return "the head is still"


def _framing(clip: Clip) -> str:
    boxes = np.asarray(clip.boxes, dtype=np.float32)
    frame_h, frame_w = clip.frame_size
    x, y, w, h = np.median(boxes, axis=0)
    fill = min(w * h / (frame_h * frame_w), 1.0)
    cx, cy = (x + w / 2) / frame_w, (y + h / 2) / frame_h
    horizontal = "left of centre" if cx < 0.4 else "right of centre" if cx > 0.6 else ""
    vertical = "high" if cy < 0.4 else "low" if cy > 0.6 else ""
    where = " and ".join(p for p in (vertical, horizontal) if p) or "centred"
    return f"the face fills {fill:.0%} of the frame, {where}"


def _coverage(clip: Clip) -> str:
    share = float(clip.face_fraction)
    if share <= 0:
        return "no face was detected, so the whole frame is used"
    if share >= 1:
        return "the face is detected throughout"
    return f"the face is detected in {share:.0%} of the checked frames"


class FastDescriber:
    """Deterministic text about a clip's light, colour, motion and framing; no model."""

    def __init__(self, config: FastDescriberConfig | None = None):
        self.config = config or FastDescriberConfig()

    def describe_one(self, clip: Clip) -> str:
        frames = np.asarray(clip.frames)  # (T, H, W, 3) uint8
        luma = _luma(frames)
        parts = [_lighting(luma, self.config), _contrast_and_highlights(frames, luma, self.config),
                 _colour(np.asarray(clip.rgb_mean), self.config), _motion(clip, luma, self.config), _framing(clip),
                 _coverage(clip)]
        return "; ".join(parts) + "."

    def describe(self, clips: list[Clip]) -> list[str]:
        return [self.describe_one(clip) for clip in clips]

    def provenance(self) -> dict:
        return {"name": "fast", "model": None, "prompt": None,
                "settings": {**asdict(self.config), "phrasing_version": PHRASING_VERSION}}
