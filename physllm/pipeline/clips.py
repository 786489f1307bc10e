"""Streaming a video into fixed-length face-crop clips: the one path for `precompute` and `predict`.

rPPG-Toolbox's convention (`BaseLoader.chunk`): non-overlapping windows of 128 frames, the tail
dropped, ground truth cut into the same windows. Unlike the toolbox, which loads a whole video
before cropping (its out-of-memory pitfall, docs/FACTS.md), frames are consumed from an iterator
and at most one clip of full frames is held at a time: the clip's median face box (face.py) is
only known once its last frame has arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from physllm.errors import DatasetError, VideoError
from physllm.pipeline.face import Box, FaceConfig, crop, crop_and_resize, detect_face, median_box, steady_box


@dataclass(frozen=True)
class ClipConfig:
    clip_frames: int = 128  # rPPG-Toolbox CHUNK_LENGTH, what its PhysNet checkpoints were trained on
    size: int = 72  # rPPG-Toolbox RESIZE H=W=72, likewise
    face: FaceConfig = field(default_factory=FaceConfig)
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"clip_frames": ">= 4", "size": ">= 8"}


@dataclass
class Clip:
    video_id: str
    clip_index: int
    first_frame: int  # absolute index of the clip's first frame in the video
    frames: np.ndarray  # uint8 (T, size, size, 3) RGB face crops
    ppg: np.ndarray | None  # float32 (T,) ground truth at frame times; None for an unlabelled video
    face_fraction: float  # share of the clip's face detections that found a face
    boxes: np.ndarray  # int32 (T, 4) x, y, w, h in full-frame pixels: the tracked box of each frame
    keyframe: np.ndarray  # uint8 (H', W', 3) the middle frame's face region at source resolution
    keyframe_index: int  # absolute frame index of the keyframe
    frame_size: tuple[int, int]  # (H, W) of the source frames
    rgb_mean: np.ndarray  # float32 (T, 3) mean RGB of each face crop (input of GREEN/CHROM/POS)


def iter_clips(frames: Iterator[np.ndarray], ppg: np.ndarray | None, cfg: ClipConfig = ClipConfig(),
               video_id: str = "video") -> Iterator[Clip]:
    """Yield the clips of a stream of RGB uint8 frames (H, W, 3), in order.

    `ppg`, where given, holds one ground-truth sample per frame; a ppg shorter than the frames it
    must label raises DatasetError. A clip whose detections all miss is cropped with the last
    good box (or the whole frame before any) and says so with `face_fraction`; a video in which
    no detection ever found a face raises VideoError once it ends.
    """
    T = cfg.clip_frames
    buffer: list[np.ndarray] = []
    last_box: Box | None = None  # carried across clips: a miss keeps the previous good box
    crop_box: Box | None = None  # the previous clip's crop, held while the face stays put
    clip_index, found_any = 0, False
    for frame in frames:
        buffer.append(frame)
        if len(buffer) < T:
            continue
        clip, last_box, crop_box = _make_clip(buffer, clip_index * T, ppg, cfg, video_id, clip_index,
                                              last_box, crop_box)
        found_any |= clip.face_fraction > 0
        buffer, clip_index = [], clip_index + 1
        yield clip
    if clip_index > 0 and not found_any:
        raise VideoError(f"{video_id}: no face found in any detection (Haar frontal cascade, "
                         f"every {cfg.face.detect_every} frames)")


def _make_clip(frames: list[np.ndarray], first: int, ppg: np.ndarray | None, cfg: ClipConfig,
               video_id: str, clip_index: int, last_box: Box | None,
               previous_crop: Box | None) -> tuple[Clip, Box | None, Box]:
    """One clip from T buffered frames; returns it with the last good box and its crop box,
    which the next clip carries on."""
    T = len(frames)
    frame_size = frames[0].shape[:2]
    detections = range(0, T, cfg.face.detect_every)
    found: list[Box] = []
    tracked: list[Box | None] = []  # per frame: the box of the latest good detection so far
    for i in detections:
        box = detect_face(frames[i], cfg.face)
        if box is not None:
            found.append(box)
            last_box = box
        tracked += [last_box] * min(cfg.face.detect_every, T - i)
    clip_box = median_box(found) if found else last_box or (0, 0, frame_size[1], frame_size[0])
    clip_box = steady_box(clip_box, previous_crop, cfg.face.hold_fraction)
    boxes = np.asarray([b or clip_box for b in tracked], dtype=np.int32)
    crops = crop_and_resize(frames, clip_box, cfg.size)
    middle = T // 2
    return Clip(
        video_id=video_id, clip_index=clip_index, first_frame=first, frames=crops,
        ppg=_ppg_window(ppg, first, T, video_id), face_fraction=len(found) / len(detections),
        boxes=boxes, keyframe=crop(frames[middle], clip_box).copy(), keyframe_index=first + middle,
        frame_size=(int(frame_size[0]), int(frame_size[1])),
        rgb_mean=crops.reshape(T, -1, 3).mean(axis=1, dtype=np.float32),
    ), last_box, clip_box


def _ppg_window(ppg: np.ndarray | None, first: int, T: int, video_id: str) -> np.ndarray | None:
    if ppg is None:
        return None
    if len(ppg) < first + T:
        raise DatasetError(f"{video_id}: the ground truth has {len(ppg)} samples but the video has at "
                           f"least {first + T} frames (expected one PPG sample per frame)")
    return np.asarray(ppg[first:first + T], dtype=np.float32)
