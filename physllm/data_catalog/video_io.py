"""Frame sources: a video file any OpenCV backend decodes (avi, mp4, mov, mkv) or a folder of
images, streamed as RGB uint8 frames. Used by the dataset readers and by `physllm predict`
on users' own videos.

OpenCV decodes to BGR; every frame is converted to RGB here, as rPPG-Toolbox's loaders do
(`cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)`), so nothing downstream sees BGR.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from physllm.data_catalog.record import natural_key
from physllm.errors import VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# Containers whose frame count OpenCV estimates from duration × fps (mkv, webm) can be off by a
# frame or two; a shortfall beyond this many frames means the file was cut short.
FRAME_COUNT_SLACK = 2


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int
    fps: float
    height: int
    width: int


def list_image_frames(folder: Path) -> list[Path]:
    """The image files of a frame folder in numeric order (Image2 before Image10)."""
    images = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                    key=lambda p: natural_key(p.name))
    if not images:
        raise VideoError(f"{folder}: no image frames found (expected files ending in {', '.join(IMAGE_SUFFIXES)})")
    return images


def _read_image_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoError(f"{path}: cannot decode this image frame (expected a readable {path.suffix} image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _open_capture(path: Path) -> cv2.VideoCapture:
    if not path.exists():
        raise VideoError(f"{path}: no such video file")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError(f"{path}: cannot open this video (expected a container OpenCV decodes: avi, mp4, mov, mkv)")
    return capture


def _iter_image_folder(folder: Path) -> Iterator[np.ndarray]:
    images = list_image_frames(folder)
    first_shape = None
    for image_path in images:
        frame = _read_image_rgb(image_path)
        first_shape = first_shape or frame.shape
        if frame.shape != first_shape:
            raise VideoError(f"{image_path}: frame size {frame.shape[:2]} differs from the folder's first frame {first_shape[:2]}")
        yield frame


def _iter_video_file(path: Path, with_times: bool = False) -> Iterator:
    capture = _open_capture(path)
    reported = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    nominal_fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
    decoded, last_time = 0, -1.0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            if with_times:
                # The container's presentation time of this frame; streams without time stamps
                # (or with broken ones) fall back to the header's nominal rate.
                stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                last_time = stamp if stamp > last_time else last_time + 1.0 / nominal_fps
                yield last_time, rgb
            else:
                yield rgb
            decoded += 1
    finally:
        capture.release()
    if decoded == 0:
        raise VideoError(f"{path}: the video opened but no frame decoded (expected at least one frame)")
    if reported > 0 and decoded < reported - FRAME_COUNT_SLACK:
        raise VideoError(f"{path}: decoding stopped at frame {decoded} of {reported} (the file looks truncated)")


def open_video(path: Path) -> Iterator[np.ndarray]:
    """Stream the RGB uint8 (H, W, 3) frames of a video file or of a folder of images.

    Raises VideoError naming the file when it cannot be opened, yields no frame, or stops
    early. Errors surface while iterating (frames are decoded lazily).
    """
    path = Path(path)
    if path.is_dir():
        return _iter_image_folder(path)
    if not path.exists():
        raise VideoError(f"{path}: no such video file or frame folder")
    return _iter_video_file(path)


def open_video_timed(path: Path, fps: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Stream (time s, RGB frame) pairs: the container's time stamps for a file (variable-rate
    phone videos keep their real timing), i / fps for a folder of images or when `fps` is given."""
    path = Path(path)
    if path.is_dir() or fps is not None:
        if fps is None:
            raise VideoError(f"{path}: a folder of images has no frame rate; pass the frame rate explicitly")
        return ((i / fps, frame) for i, frame in enumerate(open_video(path)))
    if not path.exists():
        raise VideoError(f"{path}: no such video file or frame folder")
    return _iter_video_file(path, with_times=True)


def probe_video(path: Path, fps: float | None = None) -> VideoInfo:
    """Frame count, frame rate and size without decoding the whole video.

    A folder of images has no frame rate of its own: pass `fps` (the dataset's documented
    rate, or one measured from its timestamps). For a file, `fps` overrides the header's.
    """
    path = Path(path)
    if path.is_dir():
        images = list_image_frames(path)
        if fps is None:
            raise VideoError(f"{path}: a folder of images has no frame rate; pass the frame rate explicitly")
        height, width = _read_image_rgb(images[0]).shape[:2]
        return VideoInfo(num_frames=len(images), fps=float(fps), height=height, width=width)
    capture = _open_capture(path)
    try:
        num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        header_fps = float(capture.get(cv2.CAP_PROP_FPS))
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok:
        raise VideoError(f"{path}: the video opened but no frame decoded (expected at least one frame)")
    if num_frames <= 0:  # streams without an index: count by decoding
        num_frames = sum(1 for _ in _iter_video_file(path))
    fps = float(fps) if fps is not None else header_fps
    if not fps > 0:
        raise VideoError(f"{path}: the video header has no frame rate (expected a positive fps)")
    height, width = frame.shape[:2]
    return VideoInfo(num_frames=num_frames, fps=fps, height=height, width=width)
