"""Streaming a video into fixed-length clips: the one front end of `precompute`, `predict`, the
backbone's training and, through the shards, `evaluate` and the classic baselines.

frames (+ time stamps) → resample to `fps` (pipeline.resample) → region of interest per frame
(pipeline.face, pipeline.roi) → clips of T frames: crops for PhysNet, the skin's mean colour for
GREEN/CHROM/POS.

rPPG-Toolbox's convention (`BaseLoader.chunk`) is non-overlapping windows of 128 frames with the
tail dropped, which loses up to 4 s of every video and refuses a clip shorter than 8.5 s outright.
Here every frame counts: after the whole clips, a last clip covers the video's last T frames,
overlapping the one before (`Clip.first_frame` says where it starts; joined outputs take each
frame from the first clip that covers it, evaluation.report.join_clips). Evaluation can drop it
again (`toolbox` convention) for comparable paper numbers. At most two clips of full frames are
held at a time, whatever the video's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import cv2
import numpy as np

from physllm.errors import PhysllmError, VideoError
from physllm.pipeline.face import (Box, FaceConfig, crop, crop_and_resize, crop_box, detect_face, face_template,
                                   inner_face, interpolate_boxes, locate_template, steady_box)
from physllm.pipeline.resample import resample, resampled_count, with_times
from physllm.pipeline.roi import ROI_MODES, clip_skin_means, mostly_skin, skin_box
from physllm.pipeline.stabilise import hold_still


SKIN_GRID = 32  # the skin region is averaged on a 32x32 grid: ~1000 samples, mask fixed per clip
MIN_BACKGROUND = 0.1  # share of the frame outside the crop box below which there is no background to read


@dataclass(frozen=True)
class ClipConfig:
    clip_frames: int = 128  # rPPG-Toolbox CHUNK_LENGTH, what its PhysNet checkpoints were trained on
    size: int = 72  # rPPG-Toolbox RESIZE H=W=72, likewise
    fps: float | None = 30.0  # frames resampled to the checkpoints' training rate; None keeps the source's
    roi: str = "auto"  # pipeline.roi ROI_MODES
    face: FaceConfig = field(default_factory=FaceConfig)
    stabilise: bool = True  # the face's jitter inside its held box undone in PhysNet's crops (pipeline.stabilise); ours
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"clip_frames": ">= 4", "size": ">= 8", "fps": "> 0"}

    def __post_init__(self):
        if self.roi not in ROI_MODES:
            raise PhysllmError(f"unknown region of interest {self.roi!r}; expected one of {', '.join(ROI_MODES)}")
        if self.fps is not None and not self.fps > 0:
            raise PhysllmError(f"clip frame rate must be > 0 (or none to keep the source's), got {self.fps}")


@dataclass
class Clip:
    video_id: str
    clip_index: int
    first_frame: int  # absolute index of the clip's first frame in the (resampled) video
    frames: np.ndarray  # uint8 (T, size, size, 3) RGB crops for PhysNet
    ppg: np.ndarray | None  # float32 (T,) ground truth at frame times; None for an unlabelled video
    face_fraction: float  # share of the clip's detections that found the region (1 for roi none)
    boxes: np.ndarray  # int32 (T, 4) x, y, w, h in full-frame pixels: each frame's crop box
    keyframe: np.ndarray  # uint8 (H', W', 3) the middle frame's region at source resolution
    keyframe_index: int  # absolute frame index of the keyframe
    frame_size: tuple[int, int]  # (H, W) of the source frames
    rgb_mean: np.ndarray  # float32 (T, 3) mean RGB of each frame's skin (input of GREEN/CHROM/POS)
    # float32 (T, 3) mean RGB of each frame outside its crop box: what the light and the camera did
    # (cues.quality.lit_ratio); NaN where too little of the frame lies outside (roi none, a close-up)
    background_mean: np.ndarray
    roi: str = "face"  # the region read: "face", "skin" (no face found: the largest skin region) or "none"


@dataclass
class _Track:
    """What a video's clips carry from one to the next."""

    roi: str  # resolved mode; "auto" until the first clip decides
    asked: str  # the mode asked for (ClipConfig.roi), which words the error of a video never read
    face: Box | None = None  # latest good region box (face or skin box)
    template: np.ndarray | None = None  # the region's grey template at the last detection (face.face_template)
    template_box: Box | None = None  # where it was taken: the last detection's box, before `steady_box` held it
    found_any: bool = False


def clip_starts(num_frames: int, clip_frames: int) -> list[int]:
    """First frames of a video's clips: whole clips, then one ending on the last frame."""
    starts = list(range(0, num_frames - clip_frames + 1, clip_frames))
    if starts and starts[-1] + clip_frames < num_frames:
        starts.append(num_frames - clip_frames)
    return starts


def iter_clips(timed_frames: Iterable[tuple[float, np.ndarray]], ppg: np.ndarray | None,
               cfg: ClipConfig = ClipConfig(), video_id: str = "video") -> Iterator[Clip]:
    """Yield the clips of a stream of (time s, RGB uint8 frame (H, W, 3)), in order.

    `ppg`, where given, holds one ground-truth sample per source frame; a ppg shorter than the
    frames raises DatasetError. A video shorter than one clip raises VideoError; so does one in
    which no detection ever found its region (roi face: a face; skin: a skin region; auto: either).
    """
    T = cfg.clip_frames
    track = _Track(cfg.roi, cfg.roi)
    buffer: list[np.ndarray] = []
    labels: list[float | None] = []
    previous: tuple[list[np.ndarray], list] | None = None  # last whole clip's frames, for the tail
    count, clip_index = 0, 0
    for frame, label in resample(timed_frames, ppg, cfg.fps, video_id):
        buffer.append(frame)
        labels.append(label)
        count += 1
        if len(buffer) == T:
            yield _make_clip(buffer, labels, count - T, clip_index, cfg, video_id, track)
            previous, buffer, labels, clip_index = (buffer, labels), [], [], clip_index + 1
    if previous is None:
        raise VideoError(f"{video_id}: {count} frames at {cfg.fps or 'the source'} fps, shorter than one "
                         f"{T}-frame clip (expected at least {T / (cfg.fps or 30):.1f} s of video)")
    if buffer:  # the tail: one more clip ending on the last frame, overlapping the previous one
        frames = previous[0][len(buffer):] + buffer
        tail_labels = previous[1][len(buffer):] + labels
        yield _make_clip(frames, tail_labels, count - T, clip_index, cfg, video_id, track)
    if not track.found_any and track.roi != "none":
        raise VideoError(_not_found(video_id, track.asked, cfg))


def _not_found(video_id: str, asked: str, cfg: ClipConfig) -> str:
    where = f"in any detection ({cfg.face.detector}, every {cfg.face.check_every} frames)"
    if asked == "face":
        return f"{video_id}: no face found {where}; for a video that shows only skin pass --roi none"
    if asked == "skin":
        return f"{video_id}: no skin region found {where}; for a video that shows only skin pass --roi none"
    return f"{video_id}: no face found {where}, and no skin-coloured region either"


def _resolve_roi(frames: list[np.ndarray], cfg: ClipConfig) -> str:
    """`auto`: a face if one of the first clip's detections finds it, else `none` if the frame is
    mostly skin, else `skin` (the largest skin region, tracked as a face is)."""
    for frame in frames[::cfg.face.check_every]:
        if detect_face(frame, cfg.face) is not None:
            return "face"
    return "none" if mostly_skin(frames[len(frames) // 2]) else "skin"


def _region_boxes(frames: list[np.ndarray], first: int, cfg: ClipConfig, track: _Track
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-frame region boxes (T, 4) for the detector's region, PhysNet's crop boxes (T, 4), and
    the share of checks that found the region. Checks fall on absolute frames that are multiples of
    `check_every` (detections forced on multiples of `detect_every`), so a video is read on the
    same frames however it is cut."""
    T = len(frames)
    height, width = frames[0].shape[:2]
    if track.roi == "none":
        whole = np.tile(np.array([0, 0, width, height], dtype=np.int32), (T, 1))
        return whole, whole, 1.0
    at = [i for i in range(T) if _is_check_frame(first + i, cfg.face)] or [0]
    known, boxes, found = [], [], 0
    if track.face is not None:
        known, boxes = [-1], [track.face]  # the track so far holds until the first check
    for i in at:
        found += _check_track(frames[i], (first + i) % cfg.face.detect_every == 0, cfg, track)
        if track.face is not None:
            known.append(i)
            boxes.append(track.face)
    if not boxes:  # nothing yet in this video: the whole frame, counted as a miss
        boxes, known = [(0, 0, width, height)], [0]
    region = interpolate_boxes(boxes, np.arange(T), np.asarray(known, dtype=np.float64))
    size = (height, width)
    crops = np.asarray([crop_box(tuple(b), cfg.face, size) if track.roi == "face" else tuple(b)
                        for b in region], dtype=np.int32)
    return region, crops, found / len(at)


def _is_check_frame(index: int, face: FaceConfig) -> bool:
    return index % face.check_every == 0 or index % face.detect_every == 0


def _check_track(frame: np.ndarray, detect_due: bool, cfg: ClipConfig, track: _Track) -> bool:
    """One check of the track on `frame` (pipeline.face's docstring): the template holds the box,
    or the detector (or the skin finder) runs and moves it. Returns whether the region was found."""
    if track.template is not None and not detect_due:
        located, match = locate_template(frame, track.template_box, track.template)
        still = steady_box(located, track.template_box, cfg.face.hold_fraction / 2) == track.template_box
        if match >= cfg.face.min_match and still:
            return True
    new = detect_face(frame, cfg.face) if track.roi == "face" else skin_box(frame)
    if new is None:
        return False
    track.face = steady_box(new, track.face, cfg.face.hold_fraction)
    track.template, track.template_box = face_template(frame, new), new
    track.found_any = True
    return True


def _skin_means(frames: list[np.ndarray], region: np.ndarray, roi: str) -> np.ndarray:
    """float32 (T, 3): the classic methods' input, the skin of each frame's region (the inner
    face for roi face), through one skin mask per clip (pipeline.roi.clip_skin_means)."""
    size = frames[0].shape[:2]
    grid = (SKIN_GRID, SKIN_GRID)
    patches = np.stack([
        cv2.resize(crop(frame, inner_face(tuple(box), size) if roi == "face" else box), grid,
                   interpolation=cv2.INTER_AREA)
        for frame, box in zip(frames, region)])  # (T, G, G, 3)
    return clip_skin_means(patches)


def _background_means(frames: list[np.ndarray], crops: np.ndarray) -> np.ndarray:
    """float32 (T, 3): the mean RGB of each frame outside its crop box (the whole frame's sum less
    the box's: two `cv2.sumElems`, 0.03 ms a 640x480 frame); NaN where less than MIN_BACKGROUND of
    the frame lies outside (roi none's box is the whole frame)."""
    out = np.full((len(frames), 3), np.nan, dtype=np.float32)
    height, width = frames[0].shape[:2]
    for i, (frame, box) in enumerate(zip(frames, crops)):
        inside = crop(frame, box)
        outside = height * width - inside.shape[0] * inside.shape[1]
        if outside >= MIN_BACKGROUND * height * width:
            total = np.subtract(cv2.sumElems(frame)[:3], cv2.sumElems(inside)[:3])
            out[i] = total / outside
    return out


def _make_clip(frames: list[np.ndarray], labels: list, first: int, clip_index: int, cfg: ClipConfig,
               video_id: str, track: _Track) -> Clip:
    if track.roi == "auto":
        track.roi = _resolve_roi(frames, cfg)
    region, crops, found = _region_boxes(frames, first, cfg, track)
    middle = len(frames) // 2
    resized = crop_and_resize(frames, crops, cfg.size)
    return Clip(
        video_id=video_id, clip_index=clip_index, first_frame=first,
        frames=hold_still(resized) if cfg.stabilise else resized,
        ppg=None if labels[0] is None else np.asarray(labels, dtype=np.float32),
        face_fraction=found, boxes=crops, keyframe=crop(frames[middle], crops[middle]).copy(),
        keyframe_index=first + middle, frame_size=tuple(int(v) for v in frames[0].shape[:2]),
        rgb_mean=_skin_means(frames, region, track.roi), roi=track.roi,
        background_mean=_background_means(frames, crops))



def record_clips(record, cfg: ClipConfig = ClipConfig()) -> Iterator[Clip]:
    """The clips of a dataset video (data_catalog.VideoRecord): its frames at its nominal rate, its labels."""
    return iter_clips(with_times(record.frames(), record.fps), record.ppg(), cfg, record.video_id)


def expected_clips(num_frames: int, source_fps: float, cfg: ClipConfig) -> int:
    """How many clips `iter_clips` cuts from a constant-rate video (for progress bars)."""
    return len(clip_starts(resampled_count(num_frames, source_fps, cfg.fps), cfg.clip_frames))
