import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.render.synthetic2 import (MELANIN, Conditions, Synth2Config, plan_conditions, render,
                                      synthesize_pulse, write_dataset)
from physllm.pipeline.face import FaceConfig, detect_face
from physllm.pulse import hr_fft, to_pulse


@pytest.fixture(scope="module")
def renderer2_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic2")
    write_dataset(root, Synth2Config(num_subjects=2, seconds=2.0), workers=1)
    return root


def test_scan_reads_videos_ground_truth_and_labels(renderer2_root):
    records = scan("synthetic2", renderer2_root)
    assert [r.subject for r in records] == ["subject1", "subject2"]
    for record in records:
        assert record.dataset == "synthetic2" and record.num_frames == 60 and record.fps == 30.0
        assert {"skin_tone", "flicker", "exposure", "white_balance", "motion"} <= set(record.metadata)


def test_plan_covers_every_tone_and_camera_problem():
    plans = plan_conditions(Synth2Config(num_subjects=8))
    assert {p.skin_tone for p in plans} == set(MELANIN)
    assert {p.flicker for p in plans} == {"none", "aliased"}
    assert {p.exposure for p in plans} == {"auto", "steps"} and {p.white_balance for p in plans} == {"fixed", "hunting"}


def test_pulse_heart_rate_matches_its_beats():
    cfg = Synth2Config(seconds=20.0)
    trace = synthesize_pulse(cfg, np.random.default_rng(3))
    assert cfg.hr_range_bpm[0] <= trace.hr_bpm.mean() <= cfg.hr_range_bpm[1]
    assert abs(hr_fft(to_pulse(trace.ppg, cfg.fps), cfg.fps) - trace.hr_bpm.mean()) < 4.0


def test_skin_green_carries_the_pulse_and_the_face_is_found():
    """A still, unflickered, fixed-exposure video: the face's green mean follows the pulse."""
    cfg = Synth2Config(seconds=10.0)
    conditions = Conditions("light", "none", "auto", "fixed", "still")
    rng = np.random.default_rng(0)
    trace = synthesize_pulse(cfg, rng)
    frames = list(render(cfg, conditions, trace, rng))
    box = detect_face(frames[0], FaceConfig())
    assert box is not None
    x, y, w, h = box
    green = np.array([f[y + h // 3:y + h // 2, x + w // 4:x + 3 * w // 4, 1].mean() for f in frames])
    assert abs(hr_fft(to_pulse(-green, cfg.fps), cfg.fps) - trace.hr_bpm.mean()) < 6.0


def frames_of(tone: str, flicker: str, seconds: float = 3.0) -> np.ndarray:
    cfg = Synth2Config(seconds=seconds)
    rng = np.random.default_rng(5)
    return np.array(list(render(cfg, Conditions(tone, flicker, "auto", "fixed", "still"), synthesize_pulse(cfg, rng),
                                rng)))


def test_the_face_is_exposed_without_clipping():
    """The meter reads the middle of the frame, where the lamp-lit face is, not the darker room."""
    frames = frames_of("light", "none")
    box = detect_face(frames[0], FaceConfig())
    x, y, w, h = box
    face = frames[:, y:y + h, x:x + w]
    assert np.mean(face.max(axis=-1) >= 250) < 0.01 and 80 < face.mean() < 180


def test_the_flicker_changes_the_lights_colour():
    """A fluorescent tube flickers deepest in the blue: a strip of rows (read out together by the
    rolling shutter) swings in its blue-to-red ratio with it."""
    swing = {}
    for flicker in ("none", "aliased"):
        means = frames_of("medium", flicker)[:, 100:104].mean(axis=(1, 2))
        swing[flicker] = np.std(np.diff(np.log(means[:, 2] / means[:, 0])))
    assert swing["aliased"] > 3 * swing["none"], swing
