"""physllm/api.py: settings checked as the command line checks them; frames need their rate."""

import numpy as np
import pytest

import physllm
from physllm.errors import PhysllmError, VideoError


@pytest.mark.parametrize("settings, message", [
    ({"window_s": 0}, "--window-s must be > 0, got 0"),
    ({"batch_clips": 0}, "--batch-clips must be >= 1"),
    ({"windows": 10}, "unknown setting(s) ['windows']"),
])
def test_settings_out_of_range_are_refused_before_any_work(settings, message):
    with pytest.raises(PhysllmError) as error:
        physllm.baseline("pos", **settings)
    assert message in str(error.value)


def test_an_unknown_baseline_is_refused():
    with pytest.raises(PhysllmError, match="unknown baseline 'ica'"):
        physllm.baseline("ica")


def test_frames_need_a_frame_rate_and_the_right_shape():
    pos = physllm.baseline("pos")
    with pytest.raises(PhysllmError, match="fps=..."):
        pos.predict(np.zeros((10, 8, 8, 3), np.uint8))
    with pytest.raises(PhysllmError, match="fps must be > 0"):
        pos.predict(np.zeros((10, 8, 8, 3), np.uint8), fps=0)
    with pytest.raises(VideoError, match=r"expected RGB uint8 of shape \(T, H, W, 3\)"):
        pos.predict(np.zeros((10, 8, 8), np.float32), fps=30)


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(PhysllmError):
        physllm.load(tmp_path / "none")
