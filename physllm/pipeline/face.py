"""Face boxes for rPPG crops: OpenCV's Haar frontal cascade, as rPPG-Toolbox does it, but honest.

rPPG-Toolbox (`dataset/data_loader/BaseLoader.py`, `face_detection` / `crop_face_resize`) runs
`haarcascade_frontalface_default.xml` with `minNeighbors=3`, keeps the widest face, enlarges the
box by LARGE_BOX_COEF = 1.5 around its top-left-anchored centre, optionally takes the median box
over a chunk, crops and resizes to 72x72 with `cv2.INTER_AREA`. Where it finds no face it
silently crops the full frame (docs/FACTS.md, "pitfalls"). Here a frame without a face keeps the
last good box and is *counted*, so each clip carries its `face_fraction`, and a video with no face
at all is reported by the caller (pipeline.clips / pipeline.job).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h in full-frame pixels


@dataclass(frozen=True)
class FaceConfig:
    # Detect every 30 frames, rPPG-Toolbox's DYNAMIC_DETECTION_FREQUENCY: 5 detections per 128-frame
    # clip give the median box a majority to vote with (two misses do not move it), while Haar --
    # the costliest step after decoding -- runs on 1/30 of the frames (the toolbox, with dynamic
    # detection off as in its PhysNet configs, detects once per video).
    detect_every: int = 30
    box_scale: float = 1.5  # rPPG-Toolbox LARGE_BOX_COEF
    min_neighbors: int = 3  # rPPG-Toolbox's detectMultiScale argument
    # Detect on a copy whose width is at most this: faces in rPPG videos (UBFC 640x480, PURE
    # 640x480) stay > 60 px, well above the cascade's 24 px window, and Haar runs ~4x faster.
    detect_width: int = 320
    # A clip keeps the previous clip's crop unless its median box moved by more than this share
    # of the box width (ours): a 1-2 px jitter of the Haar box between clips steps the crop's
    # mean colour, which the classic methods and the joined waveform read as a broadband spike.
    hold_fraction: float = 0.05
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"detect_every": ">= 1", "box_scale": "> 0", "min_neighbors": ">= 0", "detect_width": ">= 24",
              "hold_fraction": ">= 0"}


@lru_cache(maxsize=None)
def _cascade(min_neighbors: int) -> cv2.CascadeClassifier:
    """The bundled frontal cascade, loaded once per process (the argument only keys the cache)."""
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV could not load its bundled cascade {path}")
    return cascade


def detect_face(frame: np.ndarray, cfg: FaceConfig) -> Box | None:
    """The widest face in an RGB frame, enlarged by `cfg.box_scale` and clipped to the frame; None if none."""
    height, width = frame.shape[:2]
    scale = min(1.0, cfg.detect_width / width)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    faces = _cascade(cfg.min_neighbors).detectMultiScale(gray, minNeighbors=cfg.min_neighbors)
    if len(faces) == 0:
        return None
    x, y, w, h = (faces[np.argmax(faces[:, 2])] / scale).tolist()  # the widest, as the toolbox
    return enlarge_box((x, y, w, h), cfg.box_scale, (height, width))


def enlarge_box(box: tuple[float, float, float, float], factor: float, frame_size: tuple[int, int]) -> Box:
    """Scale a box about its centre by `factor`, clipped to the frame (the toolbox leaves it unclipped)."""
    x, y, w, h = box
    height, width = frame_size
    x0 = max(0.0, x - (factor - 1.0) / 2 * w)
    y0 = max(0.0, y - (factor - 1.0) / 2 * h)
    x1 = min(float(width), x + w + (factor - 1.0) / 2 * w)
    y1 = min(float(height), y + h + (factor - 1.0) / 2 * h)
    return round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0))


def median_box(boxes: list[Box]) -> Box:
    """Element-wise median of boxes: one stable crop for a clip (toolbox USE_MEDIAN_FACE_BOX)."""
    return tuple(int(v) for v in np.median(np.asarray(boxes), axis=0).round())


def steady_box(new: Box, previous: Box | None, hold_fraction: float) -> Box:
    """`previous` while `new` lies within `hold_fraction` of its width in every coordinate, else `new`."""
    if previous is None:
        return new
    moved = max(abs(a - b) for a, b in zip(new, previous))
    return previous if moved <= hold_fraction * previous[2] else new


def crop(frame: np.ndarray, box: Box) -> np.ndarray:
    x, y, w, h = box
    return frame[y:y + h, x:x + w]


def crop_and_resize(frames: list[np.ndarray], box: Box, size: int) -> np.ndarray:
    """uint8 (T, size, size, 3): each frame cropped to `box`, resized with INTER_AREA (the toolbox's)."""
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i] = cv2.resize(crop(frame, box), (size, size), interpolation=cv2.INTER_AREA)
    return out
