import numpy as np

from physllm import pulse
from physllm.evaluation.plots import bland_altman, prediction_figure, waveform_overlay
from physllm.evaluation.report import VideoSignals

FPS = 30.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5_000


def test_bland_altman(tmp_path):
    true = np.array([60.0, 72.0, 85.0, 95.0, 110.0])
    path = bland_altman(true + [1, -2, 0.5, 3, np.nan], true, tmp_path / "ba.png", "POS on UBFC")
    assert_png(path)


def test_waveform_overlay(tmp_path):
    t = np.arange(int(20 * FPS)) / FPS
    truth = np.sin(2 * np.pi * 1.2 * t)
    video = VideoSignals("synthetic/s0/0", "synthetic", FPS, {}, truth,
                         {"physnet": pulse.diff_normalize_label(truth), "green": -truth},
                         {"physnet"})
    assert_png(waveform_overlay(video, tmp_path / "plots" / "overlay.png", seconds=10))


def test_prediction_figure(tmp_path):
    t = np.arange(int(60 * FPS)) / FPS
    wave = np.sin(2 * np.pi * 1.25 * t)
    window_times = np.arange(5, 60, 10.0)
    conf = np.array([0.9, 0.8, 0.2, 0.95, 0.7, 0.9])
    path = prediction_figure(t, wave, FPS, window_times, np.full(6, 75.0), conf,
                             tmp_path / "predict.png")
    assert_png(path)
