"""Streaming clips (pipeline/clips.py): resampling, regions of interest, the overlapping tail."""

import cv2
import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError, VideoError
from physllm.pipeline.clips import ClipConfig, clip_starts, expected_clips, iter_clips, record_clips
from physllm.pipeline.face import FaceConfig, crop, inner_face
from physllm.pipeline.resample import with_times
from physllm.pipeline.roi import clip_skin_means


@pytest.fixture(scope="module")
def record(synthetic_root):
    return scan("synthetic", synthetic_root)[0]  # subject1: easy (still, bright)


def test_clip_starts_add_one_clip_ending_on_the_last_frame():
    assert clip_starts(300, 128) == [0, 128, 172]
    assert clip_starts(256, 128) == [0, 128]
    assert clip_starts(100, 128) == []


def test_every_frame_is_in_a_clip_the_last_one_overlapping(record):
    ppg = record.ppg()
    clips = list(record_clips(record))
    assert [c.first_frame for c in clips] == [0, 128, 172] == clip_starts(record.num_frames, 128)
    assert len(clips) == expected_clips(record.num_frames, record.fps, ClipConfig())
    for k, clip in enumerate(clips):
        first = clip.first_frame
        assert (clip.clip_index, clip.keyframe_index) == (k, first + 64)
        assert clip.frames.shape == (128, 72, 72, 3) and clip.frames.dtype == np.uint8
        np.testing.assert_array_equal(clip.ppg, ppg[first:first + 128].astype(np.float32))
        assert clip.face_fraction == 1.0 and clip.roi == "face"
        assert clip.boxes.shape == (128, 4) and clip.frame_size == (120, 160)
        assert clip.keyframe.shape[2] == 3 and clip.keyframe.shape[0] > 20


def test_the_classic_methods_read_the_inner_face_not_the_crop(record):
    frame = next(record.frames())
    clip = next(record_clips(record, ClipConfig(face=ClipConfig().face)))
    x, y, w, h = clip.boxes[0]
    face = (x + w / 6, y + h / 6, w / 1.5, h / 1.5)  # the 1.5x crop box back to the face box
    expected = clip_skin_means(crop(frame, inner_face(tuple(round(v) for v in face), frame.shape[:2]))[None])[0]
    np.testing.assert_allclose(clip.rgb_mean[0], expected, atol=2.0)
    assert np.abs(clip.rgb_mean[0] - clip.frames[0].reshape(-1, 3).mean(0)).max() > 2.0


def test_iter_clips_streams_one_clip_at_a_time(record):
    consumed = 0

    def counting(frames):
        nonlocal consumed
        for frame in frames:
            consumed += 1
            yield frame

    clips = iter_clips(with_times(counting(record.frames()), record.fps), None, ClipConfig(), record.video_id)
    first = next(clips)
    assert consumed == 128 and first.ppg is None  # unlabelled video: the `predict` path


def test_a_15_fps_video_is_read_at_30(record):
    frames = list(record.frames())[::2]  # 150 frames of 15 fps: 10 s
    clips = list(iter_clips(with_times(frames, 15.0), np.arange(150.0), ClipConfig(), "v15"))
    assert [c.first_frame for c in clips] == [0, 128, 171]  # 299 frames at 30 fps
    np.testing.assert_allclose(clips[0].ppg[:5], [0, 0.5, 1, 1.5, 2])


def test_a_face_lost_keeps_the_last_box_and_is_counted(record):
    frames = list(record.frames())[:256]
    frames[128:] = [np.full_like(f, 127) for f in frames[128:]]  # the face vanishes in clip 2
    first, second = iter_clips(with_times(frames, 30.0), None, ClipConfig(), "v")
    assert first.face_fraction == 1.0 and second.face_fraction == 0.0
    assert (second.boxes == first.boxes[-1]).all()


def test_a_still_face_is_detected_every_detect_every_frames_and_a_moved_one_at_once(record, monkeypatch):
    """The track check (pipeline/face.py): a face the template finds in place needs no detection
    until `detect_every`; one that moved is detected at the next check and its box follows."""
    import physllm.pipeline.clips as clips_module

    detected_at = []
    real_detect = clips_module.detect_face
    monkeypatch.setattr(clips_module, "detect_face", lambda frame, cfg: detected_at.append(frame) or real_detect(frame, cfg))
    frames = list(record.frames())[:256]
    cfg = ClipConfig(face=FaceConfig(check_every=15, detect_every=90))
    still = list(iter_clips(with_times(frames, 30.0), None, cfg, "still"))
    assert len(detected_at) == 1 + len(range(0, 256, 90))  # choosing the region, then each 90th frame
    assert all((clip.boxes == still[0].boxes[0]).all() for clip in still)
    detected_at.clear()
    shifted = frames[:100] + [np.roll(f, 12, axis=1) for f in frames[100:]]  # the face jumps 12 px right
    moved = list(iter_clips(with_times(shifted, 30.0), None, cfg, "moved"))
    assert len(detected_at) == 1 + len(range(0, 256, 90)) + 1  # one more: at frame 105, the check after the jump
    assert moved[1].boxes[-1][0] - moved[0].boxes[0][0] == pytest.approx(12, abs=2)


def test_the_background_is_the_frame_outside_the_crop_box(record):
    frames = list(record.frames())[:128]
    clip = next(record_clips(record))
    height, width = clip.frame_size
    for i in (0, 64, 127):
        x, y, w, h = clip.boxes[i]
        outside = np.ones((height, width), bool)
        outside[y:y + h, x:x + w] = False
        np.testing.assert_allclose(clip.background_mean[i], frames[i][outside].mean(axis=0), rtol=1e-5)
    assert clip.background_mean.shape == (128, 3) and clip.background_mean.dtype == np.float32


def test_a_video_without_face_or_skin_is_reported():
    frames = [np.full((120, 160, 3), 90, np.uint8)] * 256
    with pytest.raises(VideoError, match="no face found"):
        list(iter_clips(with_times(frames, 30.0), None, ClipConfig(), "blank"))


def skin_video(seconds=6.0, fps=30.0, bpm=72.0):
    """A cheek crop: skin whose red and green pulse at `bpm`, plus sensor noise."""
    t = np.arange(int(seconds * fps)) / fps
    rng = np.random.default_rng(0)
    base = np.array([190.0, 130.0, 110.0])
    pulse = np.sin(2 * np.pi * bpm / 60 * t)
    return [np.clip(base + p * np.array([0.8, 1.2, 0.4]) + rng.normal(0, 1, (60, 80, 3)), 0, 255).astype(np.uint8)
            for p in pulse]


@pytest.mark.parametrize("roi", ["none", "auto"])
def test_a_skin_only_crop_is_read_whole(roi):
    clips = list(iter_clips(with_times(skin_video(), 30.0), None, ClipConfig(roi=roi), "cheek"))
    assert [c.roi for c in clips] == ["none", "none"] and clips[0].face_fraction == 1.0
    assert (clips[0].boxes == [0, 0, 80, 60]).all()
    assert np.isnan(clips[0].background_mean).all()  # the whole frame is skin: no background to read


def test_roi_face_refuses_a_skin_only_crop():
    with pytest.raises(VideoError, match="pass --roi none"):
        list(iter_clips(with_times(skin_video(), 30.0), None, ClipConfig(roi="face"), "cheek"))


def test_a_video_shorter_than_a_clip_is_refused(record):
    frames = list(record.frames())[:100]
    with pytest.raises(VideoError, match="shorter than one 128-frame clip"):
        list(iter_clips(with_times(frames, 30.0), None, ClipConfig(), "short"))


def test_a_ppg_shorter_than_the_video_is_a_dataset_error(record):
    with pytest.raises(DatasetError, match="ground truth has 200 samples"):
        list(iter_clips(with_times(record.frames(), 30.0), record.ppg()[:200], ClipConfig(), record.video_id))


def test_unknown_roi_is_refused():
    from physllm.errors import PhysllmError

    with pytest.raises(PhysllmError, match="unknown region of interest 'cheeks'"):
        ClipConfig(roi="cheeks")


def skin_shape_video(seconds=6.0, fps=30.0, bpm=72.0, size=(120, 160)):
    """A face the detector cannot see: a featureless ellipse of type-V skin (Chai & Ngan's skin)
    on a grey wall, its colour pulsing at `bpm` with the blood-volume signature, plus sensor noise."""
    t = np.arange(int(seconds * fps)) / fps
    rng = np.random.default_rng(1)
    height, width = size
    shape = np.zeros(size, np.uint8)
    cv2.ellipse(shape, (width // 2, height // 2), (width // 6, height // 3), 0, 0, 360, 1, -1)
    skin = np.array([146.0, 98.0, 68.0])  # render/face.py SKIN_TONES["V"]
    frames = []
    for p in np.sin(2 * np.pi * bpm / 60 * t):
        frame = np.full((height, width, 3), 90.0)
        frame[shape > 0] = skin * (1 - 0.01 * p * np.array([0.33, 0.77, 0.53]))
        frames.append(np.clip(frame + rng.normal(0, 1, frame.shape), 0, 255).astype(np.uint8))
    return frames


def test_auto_reads_the_skin_region_of_a_face_the_detector_misses():
    frames = skin_shape_video()
    clips = list(iter_clips(with_times(frames, 30.0), None, ClipConfig(), "unseen"))
    assert [c.roi for c in clips] == ["skin", "skin"] and clips[0].face_fraction == 1.0
    x, y, w, h = clips[0].boxes[0]  # the ellipse's box (centre 80, 60; half axes 26, 40), not the frame
    assert abs(x + w / 2 - 80) <= 2 and abs(y + h / 2 - 60) <= 2 and w < 60 and h < 90


def pale_forehead_video(seconds=10.0, fps=15.0, bpm=66.0):
    """A real-format forehead crop, 200x200 at 15 fps: pale skin under a cool white balance
    (YCrCb ~ 175, 139, 130; measured: 170, 139, 128 on vitallens' sample_video_1, which Chai & Ngan's Cb <= 127
    rejects), with texture and a pulse."""
    t = np.arange(int(seconds * fps)) / fps
    rng = np.random.default_rng(2)
    texture = cv2.GaussianBlur(rng.normal(0, 6, (200, 200)), (0, 0), 3)[..., None]
    base = np.array([190.0, 166.0, 178.0])
    return [np.clip(base + texture - 1.5 * p * np.array([0.33, 0.77, 0.53]) + rng.normal(0, 1, (200, 200, 3)),
                    0, 255).astype(np.uint8) for p in np.sin(2 * np.pi * bpm / 60 * t)]


def test_auto_reads_a_real_format_skin_crop_whole():
    frames = pale_forehead_video()
    clips = list(iter_clips(with_times(frames, 15.0), None, ClipConfig(), "forehead"))
    assert {c.roi for c in clips} == {"none"} and (clips[0].boxes == [0, 0, 200, 200]).all()
