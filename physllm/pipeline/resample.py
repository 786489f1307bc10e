"""A frame stream and its labels resampled in time to the rate the backbone was trained on.

rPPG-Toolbox's PhysNet checkpoints learnt pulses at 30 fps; fed a 15-fps video they see every
beat twice as fast (a 70 bpm pulse looks like 140). Each output frame at time t0 + k/fps is the
linear blend of the two source frames around it, weighted by distance in time, and its label
sample the same blend of theirs, so frames and labels stay aligned. Times come from the
container's time stamps where it has them (phones write variable-rate files), else from the
nominal rate. An output time within `SNAP` of a source frame takes that frame unblended, so a
video already at the target rate passes through unchanged, whatever millisecond rounding its
time stamps carry.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from physllm.errors import DatasetError

SNAP = 0.05  # of an output frame period: millisecond time stamps at 30 fps are off by ≤ 0.015


def with_times(frames: Iterable[np.ndarray], fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """Frames of a constant-rate source, stamped i / fps."""
    for i, frame in enumerate(frames):
        yield i / fps, frame


def resampled_count(num_frames: int, source_fps: float, fps: float | None) -> int:
    """How many frames `resample` yields for a constant-rate source of `num_frames` frames."""
    if fps is None or num_frames == 0:
        return num_frames
    return int(np.floor((num_frames - 1) / source_fps * fps + SNAP)) + 1


def _label(ppg: np.ndarray | None, index: int, video_id: str) -> float | None:
    if ppg is None:
        return None
    if index >= len(ppg):
        raise DatasetError(f"{video_id}: the ground truth has {len(ppg)} samples but the video has at "
                           f"least {index + 1} frames (expected one PPG sample per frame)")
    return float(ppg[index])


def resample(timed_frames: Iterable[tuple[float, np.ndarray]], ppg: np.ndarray | None,
             fps: float | None, video_id: str = "video") -> Iterator[tuple[np.ndarray, float | None]]:
    """(frame, label) at `fps` from (time s, frame) pairs in time order; `fps=None` keeps the source's.

    `ppg` holds one label per *source* frame; a ppg shorter than the frames raises DatasetError.
    """
    if fps is None:
        for i, (_, frame) in enumerate(timed_frames):
            yield frame, _label(ppg, i, video_id)
        return
    period = 1.0 / fps
    previous: tuple[int, float, np.ndarray] | None = None
    t0, k = None, 0
    for i, (t, frame) in enumerate(timed_frames):
        t0 = t if t0 is None else t0
        while True:
            target = t0 + k * period
            if target > t + SNAP * period:
                break  # the next output lies beyond this frame: wait for the next one
            if abs(target - t) <= SNAP * period or previous is None:
                yield frame, _label(ppg, i, video_id)
            else:
                j, t_prev, frame_prev = previous
                if abs(target - t_prev) <= SNAP * period:
                    yield frame_prev, _label(ppg, j, video_id)
                else:
                    weight = (target - t_prev) / (t - t_prev)  # in (0, 1)
                    blend = (1.0 - weight) * frame_prev.astype(np.float32) + weight * frame
                    label = None if ppg is None else (
                        (1.0 - weight) * _label(ppg, j, video_id) + weight * _label(ppg, i, video_id))
                    yield np.rint(blend).astype(np.uint8), label
            k += 1
        previous = (i, t, frame)
