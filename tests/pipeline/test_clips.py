"""Face boxes and streaming clips (pipeline/face.py, pipeline/clips.py) on the synthetic videos."""

import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError, VideoError
from physllm.pipeline.clips import ClipConfig, iter_clips
from physllm.pipeline.face import FaceConfig, detect_face, enlarge_box, median_box, steady_box


@pytest.fixture(scope="module")
def record(synthetic_root):
    return scan("synthetic", synthetic_root)[0]  # subject1: easy (still, bright)


def test_enlarge_box_is_the_toolbox_1_5x_about_the_centre_and_clipped():
    assert enlarge_box((40, 40, 20, 20), 1.5, (100, 100)) == (35, 35, 30, 30)
    assert enlarge_box((0, 90, 20, 20), 1.5, (100, 100)) == (0, 85, 25, 15)  # clipped left, bottom


def test_median_box_ignores_a_minority_outlier():
    assert median_box([(10, 10, 50, 50), (12, 10, 50, 52), (200, 0, 5, 5)]) == (12, 10, 50, 50)


def test_a_clip_keeps_the_previous_crop_unless_the_face_moved():
    previous = (100, 50, 100, 100)
    assert steady_box((102, 49, 101, 100), previous, 0.05) == previous  # Haar jitter: held
    assert steady_box((110, 50, 100, 100), previous, 0.05) == (110, 50, 100, 100)  # moved 10%
    assert steady_box((102, 49, 101, 100), None, 0.05) == (102, 49, 101, 100)  # the first clip


def test_detects_the_rendered_face_and_nothing_in_noise(record):
    frame = next(record.frames())
    x, y, w, h = detect_face(frame, FaceConfig())
    assert 0 < w < frame.shape[1] and 0 < h <= frame.shape[0]
    noise = np.random.default_rng(0).integers(0, 255, frame.shape, dtype=np.uint8)
    assert detect_face(noise, FaceConfig()) is None


def test_clips_are_non_overlapping_windows_with_the_tail_dropped(record):
    ppg = record.ppg()
    clips = list(iter_clips(record.frames(), ppg, ClipConfig(), record.video_id))
    assert len(clips) == record.num_frames // 128 == 2
    for k, clip in enumerate(clips):
        assert (clip.clip_index, clip.first_frame, clip.keyframe_index) == (k, 128 * k, 128 * k + 64)
        assert clip.frames.shape == (128, 72, 72, 3) and clip.frames.dtype == np.uint8
        np.testing.assert_array_equal(clip.ppg, ppg[128 * k:128 * (k + 1)].astype(np.float32))
        assert clip.face_fraction == 1.0
        assert clip.boxes.shape == (128, 4) and clip.frame_size == (120, 160)
        assert clip.keyframe.shape[2] == 3 and clip.keyframe.shape[0] > 20
        np.testing.assert_allclose(clip.rgb_mean, clip.frames.reshape(128, -1, 3).mean(axis=1), rtol=1e-5)


def test_iter_clips_streams_one_clip_at_a_time(record):
    consumed = 0

    def counting(frames):
        nonlocal consumed
        for frame in frames:
            consumed += 1
            yield frame

    clips = iter_clips(counting(record.frames()), None, ClipConfig(), record.video_id)
    first = next(clips)
    assert consumed == 128 and first.ppg is None  # unlabelled video: the `predict` path


def test_a_face_lost_keeps_the_last_box_and_is_counted(record):
    frames = list(record.frames())[:256]
    frames[128:] = [np.full_like(f, 127) for f in frames[128:]]  # the face vanishes in clip 2
    first, second = iter_clips(iter(frames), None, ClipConfig(), "v")
    assert first.face_fraction == 1.0 and second.face_fraction == 0.0
    assert (second.boxes == first.boxes[-1]).all()


def test_a_video_without_any_face_is_reported(record):
    frames = [np.full((120, 160, 3), 90, np.uint8)] * 256
    with pytest.raises(VideoError, match="no face"):
        list(iter_clips(iter(frames), None, ClipConfig(), "blank"))


def test_a_ppg_shorter_than_the_video_is_a_dataset_error(record):
    with pytest.raises(DatasetError, match="ground truth has 200 samples"):
        list(iter_clips(record.frames(), record.ppg()[:200], ClipConfig(), record.video_id))
