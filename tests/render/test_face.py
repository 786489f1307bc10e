"""The face renderer: where the pulse shows, in which colours, and that a face detector sees a face."""

import cv2
import numpy as np
import pytest

from physllm.render.face import (LIGHTS, MOTIONS, PULSE_SIGNATURE_RGB, SKIN_TONES, MotionPath, Scenario,
                                 build_face, draw_lamp, illumination, light_curve, motion_path, render_frames)

HEIGHT, WIDTH, FPS = 240, 320, 30.0
CASCADE = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def at_rest(frames: int) -> MotionPath:
    zeros, ones = np.zeros(frames), np.ones(frames)
    return MotionPath(dx=zeros, dy=zeros, roll_deg=zeros, scale_x=ones, scale_y=ones, jaw_px=zeros)


def still_frames(layers, bvp, noise_sigma=0.0):
    frames = len(bvp)
    return [frame.astype(np.float64) for frame in
            render_frames(layers, at_rest(frames), np.ones(frames), np.asarray(bvp), noise_sigma,
                          np.random.default_rng(0))]


def detect_faces(frame_rgb):
    return CASCADE.detectMultiScale(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY), scaleFactor=1.1, minNeighbors=3)


@pytest.fixture(scope="module")
def strong_pulse_face():
    """A face with a 20% pulse, so one frame pair shows its colour change far above 8-bit steps."""
    return build_face(np.random.default_rng(1), HEIGHT, WIDTH, "III-IV", pulse_amplitude=0.2)


def test_skin_darkens_with_blood_in_the_pulse_signature_colours(strong_pulse_face):
    low, high = still_frames(strong_pulse_face, [-0.5, 0.5])
    change = high - low  # more blood absorbs more light
    skin = change[..., 1] < -3
    assert skin.mean() > 0.05, "a sizeable skin area pulses"
    ratio = change[skin].mean(axis=0) / low[skin].mean(axis=0)  # relative change per channel
    assert np.all(ratio < 0)
    assert np.argsort(-ratio).tolist() == np.argsort(PULSE_SIGNATURE_RGB).tolist()  # G > B > R
    direction = -ratio / np.linalg.norm(ratio)
    assert direction @ PULSE_SIGNATURE_RGB / np.linalg.norm(PULSE_SIGNATURE_RGB) > 0.98


def test_background_hair_and_facial_features_do_not_pulse(strong_pulse_face):
    low, high = still_frames(strong_pulse_face, [-0.5, 0.5])
    change = np.abs(high - low).max(axis=2)
    rows, cols = np.nonzero(change > 3)
    top, left, right = rows.min(), cols.min(), cols.max()
    assert change[:, : left - 2].max() <= 1 and change[:, right + 3:].max() <= 1, "background is static"
    assert change[: top - 2].max() <= 1, "hair above the forehead is static"
    luma = low @ np.array([0.299, 0.587, 0.114])
    dark_features = (luma < 30) & (np.arange(low.shape[1]) > left) & (np.arange(low.shape[1]) < right)
    dark_features[: top] = False  # pupils, irises, lids, brows, nostrils, the mouth
    assert dark_features.sum() > 50
    assert np.mean(change[dark_features] <= 1) > 0.9


def test_forehead_pulses_more_than_the_neck(strong_pulse_face):
    low, high = still_frames(strong_pulse_face, [-0.5, 0.5])
    relative = np.abs(high - low)[..., 1] / np.maximum(low[..., 1], 1)
    centre = int(round(strong_pulse_face.centre[0]))
    column = relative[:, centre - 3: centre + 4]
    rows = np.nonzero(column.max(axis=1) > 0.02)[0]
    top, extent = rows.min(), rows.max() - rows.min()
    forehead = column[top + int(0.03 * extent): top + int(0.15 * extent)]
    neck = column[top + int(0.75 * extent): top + int(0.9 * extent)]
    assert np.median(forehead) > 1.3 * np.median(neck) > 0


@pytest.mark.parametrize("tone", list(SKIN_TONES))
@pytest.mark.parametrize("size", [(240, 320), (120, 160)])
def test_haar_cascade_finds_every_skin_tone(tone, size):
    found = 0
    for seed in range(5):
        layers = build_face(np.random.default_rng([seed, 11]), *size, tone, pulse_amplitude=0.01)
        (frame,) = still_frames(layers, [0.0], noise_sigma=1.0)
        faces = detect_faces(frame.astype(np.uint8))
        found += len(faces) == 1
    assert found >= 4


def test_light_curves():
    rng = np.random.default_rng(0)
    times = np.arange(int(20 * FPS)) / FPS
    assert np.all(light_curve("bright", times, rng) == 1.0)
    assert light_curve("dim", times, rng).max() < 0.5
    flicker = light_curve("flicker", times, rng)
    freqs = np.fft.rfftfreq(len(times), 1 / FPS)
    peak = freqs[np.argmax(np.abs(np.fft.rfft(flicker - flicker.mean())))]
    assert 0.75 <= peak <= 2.5, "flicker aliases into the pulse band"
    step = light_curve("step", times, rng)
    assert np.ptp(step) > 0.05 and np.mean(np.abs(np.diff(step)) < 1e-9) > 0.8, "a few switches, flat between"
    with pytest.raises(ValueError):
        light_curve("disco", times, rng)


def test_the_lamp_changes_the_lights_colour_as_it_flickers_and_as_the_head_moves():
    rng = np.random.default_rng(0)
    times = np.arange(int(10 * FPS)) / FPS
    lamp, still, face_px = draw_lamp(rng), at_rest(len(times)), 90.0
    face, room = illumination(np.ones_like(times), still, lamp, face_px)
    assert np.allclose(face, 1, atol=1e-6) and np.allclose(room, 1, atol=1e-6), "white-balanced at rest"
    face, room = illumination(light_curve("flicker", times, rng), still, lamp, face_px)
    assert np.allclose(face, room), "a still head sees the room's light"
    assert np.ptp(face[:, 2] / face[:, 1]) > 0.005, "the warm lamp's flicker shifts the colour"
    walking = motion_path("walking", times, np.zeros_like(times), rng, 1.0)
    face, room = illumination(np.ones_like(times), walking, lamp, face_px)
    assert np.allclose(room, 1, atol=1e-6) and np.ptp(face[:, 2] / face[:, 1]) > 0.002, "the face's light follows it"


def test_motions_move_the_head_as_labelled():
    rng = np.random.default_rng(0)
    times = np.arange(int(20 * FPS)) / FPS
    bvp = np.sin(2 * np.pi * 1.2 * times)
    paths = {motion: motion_path(motion, times, bvp, rng, 1.0) for motion in MOTIONS}
    assert np.ptp(paths["still"].dx) < 2 and np.ptp(paths["still"].dy) < 2
    assert paths["rotation"].scale_x.min() < 0.95
    assert np.ptp(paths["translation"].dx) > 15
    assert paths["talking"].jaw_px.max() > 2 and np.all(paths["still"].jaw_px == 0)
    walking = paths["walking"].dy - paths["walking"].dy.mean()
    freqs = np.fft.rfftfreq(len(times), 1 / FPS)
    assert 1.5 <= freqs[np.argmax(np.abs(np.fft.rfft(walking)))] <= 2.1, "bobbing at the step rate"


def test_only_still_bright_clean_video_is_easy():
    easy = Scenario(skin_tone="V", light="bright", motion="still", noise="low", compression="high")
    assert easy.difficulty == "easy"
    for light in LIGHTS[1:]:
        assert Scenario("V", light, "still", "low", "high").difficulty == "hard"
    for motion in MOTIONS[1:]:
        assert Scenario("V", "bright", motion, "low", "high").difficulty == "hard"
    assert Scenario("V", "bright", "still", "high", "high").difficulty == "hard"
    assert Scenario("V", "bright", "still", "low", "low").difficulty == "hard"
