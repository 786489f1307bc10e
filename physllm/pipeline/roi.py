"""Regions of interest: where a clip's skin is, when the video shows a face, a skin patch or only skin.

`--roi` modes (ROI_MODES):
- `face`: a face detector's box (pipeline.face), tracked; PhysNet reads the 1.5x box it was
  trained on, the classic methods the skin pixels of the inner face.
- `skin`: no face needed (a cheek, forehead or palm video): the bounding box of the skin-coloured
  pixels, and their mean colour.
- `none`: the whole frame is skin, as in pre-cropped videos (rPPG-Toolbox `DO_CROP_FACE: False`).
- `auto` (default): `face` if the first clip shows one, else `none` if the frame is mostly skin,
  else `face`, whose "no face" error then names the video.

Skin pixels: the explicit YCrCb rule of Chai & Ngan (1999), "Face segmentation using skin-color map
in videophone applications", IEEE TCSVT 9 (Cr 133-173, Cb 77-127), as in many rPPG pipelines
(e.g. pyVHR's skin extraction). Under coloured or very dim light it can reject a real face; a
region where it keeps under `MIN_SKIN_SHARE` of the pixels is averaged whole instead. Within a
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


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """bool (H, W): pixels whose chrominance is skin's."""
    ycrcb = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)
    lower = np.array([0, CR_RANGE[0], CB_RANGE[0]], dtype=np.uint8)
    upper = np.array([255, CR_RANGE[1], CB_RANGE[1]], dtype=np.uint8)
    return cv2.inRange(ycrcb, lower, upper) > 0


def skin_fraction(rgb: np.ndarray) -> float:
    return float(skin_mask(rgb).mean())


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
