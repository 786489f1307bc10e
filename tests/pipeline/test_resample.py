"""Frames and labels resampled in time (pipeline/resample.py)."""

import numpy as np
import pytest

from physllm.errors import DatasetError
from physllm.pipeline.resample import resample, resampled_count, with_times


def frames_of(values):
    return [np.full((2, 2, 3), v, np.uint8) for v in values]


def test_the_same_rate_passes_frames_and_labels_through_unchanged():
    frames = frames_of(range(10))
    ppg = np.arange(10, dtype=np.float32)
    jittered = [(i / 30 + 0.0004 * (-1) ** i, f) for i, f in enumerate(frames)]  # ms-rounded stamps
    out = list(resample(jittered, ppg, 30.0))
    assert len(out) == 10
    assert all(o is f for (o, _), f in zip(out, frames))
    assert [label for _, label in out] == list(ppg)


def test_15_fps_doubles_with_blends_in_between():
    out = list(resample(with_times(frames_of([0, 100, 200]), 15.0), np.array([0.0, 1.0, 2.0]), 30.0))
    assert [int(f[0, 0, 0]) for f, _ in out] == [0, 50, 100, 150, 200]
    assert [label for _, label in out] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert resampled_count(3, 15.0, 30.0) == 5


def test_variable_rate_time_stamps_are_followed():
    times = [0.0, 0.02, 0.1, 0.11, 0.2]  # irregular
    values = [0, 20, 100, 110, 200]  # brightness = time in ms / 1: a linear ramp
    out = list(resample(zip(times, frames_of(values)), None, 20.0))
    assert [int(f[0, 0, 0]) for f, _ in out] == [0, 50, 100, 150, 200]
    assert all(label is None for _, label in out)


def test_none_keeps_the_source_rate():
    out = list(resample(with_times(frames_of([1, 2, 3]), 25.0), None, None))
    assert [int(f[0, 0, 0]) for f, _ in out] == [1, 2, 3]


def test_a_label_shorter_than_the_frames_is_a_dataset_error():
    with pytest.raises(DatasetError, match="ground truth has 2 samples"):
        list(resample(with_times(frames_of([1, 2, 3]), 30.0), np.zeros(2), 30.0))
