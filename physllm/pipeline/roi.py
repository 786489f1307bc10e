"""Regions of interest: where a clip's skin is, when the video shows a face, a skin patch or only skin.

`--roi` modes (ROI_MODES):
- `face`: a face detector's box (pipeline.face), tracked; PhysNet reads the 1.5x box it was
  trained on, the classic methods the skin pixels of the inner face.
- `skin`: no face needed (a cheek, forehead or palm video): the bounding box of the skin-coloured
  pixels, and their mean colour.
- `none`: the whole frame is skin, as in pre-cropped videos (rPPG-Toolbox `DO_CROP_FACE: False`).
- `auto` (default): `face` if the first clip shows one, else `none` if the frame is mostly skin,
  else `skin`: the largest skin region, so a face the detector misses (issue 23: the darkest skin
  types in bright light) is still read, and labelled so. Only a video in which no detection finds
  a face or any skin region is refused.

Skin pixels: the explicit YCrCb rule of Chai & Ngan (1999), "Face segmentation using skin-color map
in videophone applications", IEEE TCSVT 9 (Cr 133-173, Cb 77-127), as in many rPPG pipelines
(e.g. pyVHR's skin extraction). Under coloured or very dim light it can reject a real face; a
region where it keeps under `MIN_SKIN_SHARE` of the pixels is averaged whole instead. Whether a
frame is *mostly* skin is asked with a wider box (`WIDE_CR_RANGE`, `WIDE_CB_RANGE`): on forehead
and cheek crops of a real webcam clip (vitallens' sample_video_1, pale skin under a cool white
balance) the strict rule kept 14-66% of the pixels, the wide one 61-100%; neutral grey stays out.
The wide box is not used inside a frame, where it would also take beige and pink walls. Within a
clip the mask is drawn once, on the clip's mean image of the region (`clip_skin_means`): a mask
redrawn every frame lets pixels near the thresholds flicker in and out, which in dim video is
noise as strong as the pulse.
"""

from __future__ import annotations

import cv2
import numpy as np

ROI_MODES = ("auto", "face", "skin", "none")
CR_RANGE = (133, 173)  # Chai & Ngan 1999
CB_RANGE = (77, 127)
MIN_SKIN_SHARE = 0.15  # below this the skin rule is failing, not the region
MOSTLY_SKIN = 0.5  # `auto`: a frame this much skin is a pre-cropped skin video
# The "mostly skin" test's box: real pale skin under cool light reads Cr 133-147, Cb 120-135
# (module docstring); Cr >= 130 keeps grey (128, 128) and bluish whites out.
WIDE_CR_RANGE = (130, 175)
WIDE_CB_RANGE = (77, 135)


def skin_mask(rgb: np.ndarray, cr_range: tuple[int, int] = CR_RANGE,
              cb_range: tuple[int, int] = CB_RANGE) -> np.ndarray:
    """bool (H, W): pixels whose chrominance is skin's."""
    ycrcb = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)
    lower = np.array([0, cr_range[0], cb_range[0]], dtype=np.uint8)
    upper = np.array([255, cr_range[1], cb_range[1]], dtype=np.uint8)
    return cv2.inRange(ycrcb, lower, upper) > 0


def skin_fraction(rgb: np.ndarray) -> float:
    return float(skin_mask(rgb).mean())


def mostly_skin(rgb: np.ndarray) -> bool:
    """Whether a frame is a skin crop (a forehead, a cheek, a palm): most of it in the wide box."""
    return float(skin_mask(rgb, WIDE_CR_RANGE, WIDE_CB_RANGE).mean()) >= MOSTLY_SKIN


def clip_skin_means(patches: np.ndarray) -> np.ndarray:
    """float32 (T, 3): each frame's mean RGB over one skin mask, drawn on the clip's mean patch.

    patches: uint8 (T, G, G, 3), each frame's region resized to one grid, so a moving region
    keeps its mask."""
    mask = skin_mask(patches.mean(axis=0).round().astype(np.uint8))  # (G, G)
    if mask.mean() < MIN_SKIN_SHARE:
        mask[:] = True
    return patches[:, mask].mean(axis=1, dtype=np.float64).astype(np.float32)


def skin_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """x, y, w, h of the largest connected skin area (opened to drop speckle); None if too small."""
    mask = skin_mask(rgb).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = stats[largest]
    if area < MIN_SKIN_SHARE * mask.size / 4:
        return None
    return int(x), int(y), int(w), int(h)
