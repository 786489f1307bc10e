"""Holding the face still in its crop (pipeline/stabilise.py): known sub-pixel jitter measured and
undone; a still face, an untrusted step and a drift left alone; the clips of a jittering face."""

import cv2
import numpy as np

from physllm.pipeline.clips import ClipConfig, iter_clips
from physllm.pipeline.resample import with_times
from physllm.pipeline.stabilise import JITTER_FLOOR, crop_steps, hold_still, path_shifts, step_rms, undo_shifts
from physllm.predict.estimators import clip_config_of


def texture(size: int, seed: int = 0) -> np.ndarray:
    """uint8 (size, size, 3): smooth random blobs, a face-like spread of spatial frequencies."""
    noise = np.random.default_rng(seed).uniform(0, 255, (size, size, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.5) * 4 - 384, 0, 255).astype(np.uint8)


def moved(image: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """(T, H, W, 3): `image` with its content moved by each shift (x, y pixels)."""
    return undo_shifts(np.repeat(image[None], len(shifts), axis=0), -shifts)


def frame_change(frames: np.ndarray, edge: int = 8) -> float:
    """Mean absolute change from frame to frame, away from the reflected edges."""
    return float(np.abs(np.diff(frames[:, edge:-edge, edge:-edge].astype(np.float32), axis=0)).mean())


def jitter(n: int, scale: float = 1.0) -> np.ndarray:
    """(n, 2): a hand's shake, x 0.8 px at 2 Hz and y 0.6 px at 1.3 Hz (times `scale`), at 30 fps."""
    t = np.arange(n) / 30
    return scale * np.column_stack([0.8 * np.sin(2 * np.pi * 2.0 * t), 0.6 * np.sin(2 * np.pi * 1.3 * t + 1)])


def test_sub_pixel_jitter_is_measured_and_undone():
    shifts = jitter(128, 2)
    crops = moved(texture(72), shifts)
    measured = path_shifts(crop_steps(crops))
    for axis in (0, 1):  # each frame's step (what is measured) follows the jitter's (0.99 and 0.96 here)
        assert np.corrcoef(np.diff(measured[:, axis]), np.diff(shifts[:, axis]))[0, 1] > 0.8
    assert step_rms(crop_steps(crops)) >= JITTER_FLOOR
    held = hold_still(crops)
    np.testing.assert_array_equal(held, undo_shifts(crops, measured))
    assert frame_change(held) < 0.6 * frame_change(crops)  # 0.22 here


def test_a_still_face_is_left_as_it_is():
    noisy = np.random.default_rng(1).normal(0, 2, (40, 72, 72, 3))  # a sensor's noise on a still face
    crops = np.clip(texture(72)[None] + noisy, 0, 255).astype(np.uint8)
    assert step_rms(crop_steps(crops)) < JITTER_FLOOR  # 0.12 px a frame here
    assert hold_still(crops) is crops


def test_a_step_the_correlation_does_not_trust_counts_as_none():
    crops = moved(texture(72), jitter(64, 2))
    crops[30] = texture(72, seed=1)  # an unrelated image: a cut, a hand before the face
    steps = crop_steps(crops)
    np.testing.assert_array_equal(steps[30], 0)
    assert np.abs(path_shifts(steps)).max() < 3.0  # 2.4 px here: the jitter (1.6 px) and no wild step


def test_a_steady_drift_is_left_to_the_tracker():
    drift = np.column_stack([np.linspace(0, 4, 128), np.zeros(128)])  # 4 px across the clip
    assert np.abs(path_shifts(crop_steps(moved(texture(72), drift)))).max() < 0.8  # 0.57 px here


def jittering_video(n: int, scale: float) -> list[tuple[float, np.ndarray]]:
    """A 'face' texture jittering inside a still frame: (time, RGB frame) pairs at 30 fps."""
    frame = np.full((120, 160, 3), 90, np.uint8)
    frame[20:100, 40:120] = texture(80)
    return list(with_times(iter(moved(frame, jitter(n, scale))), 30.0))


def test_clips_of_a_jittering_face_hold_it_still():
    video = jittering_video(128, 4)
    shaking = next(iter_clips(video, None, ClipConfig(roi="none", stabilise=False)))  # no detector in the way
    held = next(iter_clips(video, None, ClipConfig(roi="none")))
    measured = path_shifts(crop_steps(shaking.frames))
    jitter_in_crop = jitter(128, 4) * np.array([72 / 160, 72 / 120])  # the frame is 160 x 120, the crop 72 x 72
    for axis in (0, 1):  # 0.99 and 0.99 here
        assert np.corrcoef(measured[:, axis], jitter_in_crop[:, axis])[0, 1] > 0.9
    np.testing.assert_array_equal(held.frames, hold_still(shaking.frames))
    assert frame_change(held.frames, 20) < 0.5 * frame_change(shaking.frames, 20)  # 0.28 here
    np.testing.assert_array_equal(held.rgb_mean, shaking.rgb_mean)  # the classic methods' skin: as it was


def test_a_cache_made_before_stabilising_is_read_without_it():
    settings = {"preprocessing": {"clip_frames": 128, "size": 72, "fps": 30.0, "roi": "auto", "face": {}}}
    assert clip_config_of(settings).stabilise is False
    settings["preprocessing"]["stabilise"] = True
    assert clip_config_of(settings).stabilise is True
