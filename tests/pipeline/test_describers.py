"""Describers: the fast one's text follows the measured clip; LLaVA runs end to end, tiny."""

import numpy as np
import pytest

from physllm.errors import PhysllmError
from physllm.pipeline.clips import Clip
from physllm.pipeline.describe_fast import FastDescriber
from physllm.pipeline.describe_llava import PROMPT, LlavaDescriber
from physllm.pipeline.describers import make_describer

T, SIZE = 32, 72
FRAME_SIZE = (480, 640)
CENTRED_BOX = (245, 165, 150, 150)  # x, y, w, h: centred in a 640×480 frame, 7% of it


def skin_frames(seed: int = 0) -> np.ndarray:
    """A still, evenly lit face crop: skin colour with soft shading and a little sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] / (SIZE - 1) - 0.5
    shading = 1.0 - 0.4 * (xx**2 + yy**2)  # (H, W) a rounded face, darker at the edges
    for eye_x in (-0.17, 0.17):  # two dark eyes give the crop features that motion moves
        shading[((xx - eye_x) ** 2 + (yy + 0.12) ** 2) < 0.07**2] = 0.3
    skin = np.array([200, 150, 120], dtype=np.float64)
    frames = shading[None, :, :, None] * skin + rng.normal(0, 2, (T, SIZE, SIZE, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)  # (T, H, W, 3)


def make_clip(frames=None, boxes=None, face_fraction=1.0, keyframe=None, clip_index=0) -> Clip:
    frames = skin_frames() if frames is None else frames
    boxes = np.tile(np.array(CENTRED_BOX, dtype=np.int32), (T, 1)) if boxes is None else boxes
    return Clip(video_id="synthetic/subject1/0", clip_index=clip_index, first_frame=0,
                frames=frames, ppg=None, face_fraction=face_fraction, boxes=boxes,
                keyframe=frames[T // 2] if keyframe is None else keyframe, keyframe_index=T // 2,
                frame_size=FRAME_SIZE, rgb_mean=frames.reshape(T, -1, 3).mean(axis=1),
                background_mean=np.full((T, 3), np.nan, np.float32))


def describe(clip: Clip) -> str:
    return FastDescriber().describe([clip])[0]


def scaled(frames: np.ndarray, factor) -> np.ndarray:
    return np.clip(frames * np.asarray(factor, dtype=np.float64), 0, 255).astype(np.uint8)


def test_fast_baseline_reads_as_an_easy_clip():
    text = describe(make_clip())
    for phrase in ("well lit with even lighting", "the light is steady", "neutral in tone",
                   "the head is still", "the face fills 7% of the frame, centred",
                   "detected throughout"):
        assert phrase in text, (phrase, text)


def test_fast_darkened_clip_reads_dim():
    text = describe(make_clip(frames=scaled(skin_frames(), 0.3)))
    assert "dimly lit" in text and "well lit" not in text


def test_fast_tinted_clip_reads_bluish():
    text = describe(make_clip(frames=scaled(skin_frames(), [0.8, 0.9, 1.6])))
    assert "bluish cast" in text and "neutral" not in text


def test_fast_one_sided_light_is_named():
    frames = skin_frames().astype(np.float64)
    frames[:, :, : SIZE // 2] *= 1.3  # the image's left half brighter
    text = describe(make_clip(frames=np.clip(frames, 0, 255).astype(np.uint8)))
    assert "brighter on the image's left side" in text


def test_fast_flicker_is_named():
    gain = 1 + 0.1 * np.sin(np.arange(T) * 2.0)  # (T,) brightness changing frame to frame
    text = describe(make_clip(frames=scaled(skin_frames(), gain[:, None, None, None])))
    assert "flickers or changes" in text
    assert "the head is still" in text  # a change of light is not taken for motion


def test_fast_moving_box_reads_as_motion():
    boxes = np.tile(np.array(CENTRED_BOX, dtype=np.int32), (T, 1))
    boxes[:, 0] += 2 * np.arange(T)  # 62 px across the clip, 0.4 box widths
    assert "the head moves a lot" in describe(make_clip(boxes=boxes))


def test_fast_motion_inside_a_still_box_reads_as_motion():
    base = skin_frames()
    frames = np.stack([np.roll(base[t], 3 * t, axis=1) for t in range(T)])  # content slides
    assert "the head moves a lot" in describe(make_clip(frames=frames))


def test_fast_framing_and_coverage_follow_the_boxes():
    boxes = np.tile(np.array([0, 0, 320, 240], dtype=np.int32), (T, 1))  # top-left quarter
    text = describe(make_clip(boxes=boxes, face_fraction=0.5))
    assert "fills 25% of the frame, high and left of centre" in text
    assert "detected in 50% of the checked frames" in text
    assert "no face was detected" in describe(make_clip(face_fraction=0.0))


def test_fast_is_deterministic_and_one_text_per_clip():
    clips = [make_clip(clip_index=i) for i in range(3)]
    first, second = FastDescriber().describe(clips), FastDescriber().describe(clips)
    assert first == second and len(first) == 3
    provenance = FastDescriber().provenance()
    assert provenance["name"] == "fast" and "dim_luma" in provenance["settings"]


def test_make_describer_by_name(tiny_llava_dir):
    assert isinstance(make_describer("fast"), FastDescriber)
    assert make_describer("fast", dim_luma=10.0).provenance()["settings"]["dim_luma"] == 10.0
    llava = make_describer("llava", model=str(tiny_llava_dir), max_new_tokens=4)
    assert isinstance(llava, LlavaDescriber)
    assert llava.provenance()["model"] == str(tiny_llava_dir)
    with pytest.raises(PhysllmError, match="unknown describer 'blip'"):
        make_describer("blip")
    with pytest.raises(PhysllmError, match="uses no model"):
        make_describer("fast", model="x")


def test_llava_describes_a_batch_through_the_real_code_path(tiny_llava_dir):
    rng = np.random.default_rng(1)
    # keyframes at source resolution, of different sizes, as clips.py gives them
    clips = [make_clip(clip_index=i, keyframe=rng.integers(0, 255, (40 + 20 * i, 50, 3),
                                                          dtype=np.uint8)) for i in range(3)]
    describer = LlavaDescriber(str(tiny_llava_dir), max_new_tokens=6, batch_size=2)
    texts = describer.describe(clips)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert not any("ASSISTANT" in t or "pulse" in t for t in texts)  # only the generated text
    assert texts == [describer.describe([c])[0] for c in clips]  # batching keeps order, greedy
    provenance = describer.provenance()
    assert provenance["prompt"] == PROMPT and provenance["settings"]["max_new_tokens"] == 6


def test_llava_missing_local_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PhysllmError, match="absent-llava.*does not exist"):
        LlavaDescriber(str(tmp_path / "absent-llava"))


def test_llava_uncached_hub_model_offline_is_a_clear_error():
    describer = LlavaDescriber("nobody/absent-llava-model")  # loads lazily
    with pytest.raises(PhysllmError, match="nobody/absent-llava-model"):
        describer.describe([make_clip()])
