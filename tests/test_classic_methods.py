import math

import numpy as np
import pytest
import scipy.signal

from physllm import pulse
from physllm.classic_methods import BASELINES, chrom, pos

FPS = 30.0
SKIN_PULSE = np.array([0.33, 0.77, 0.53])  # relative pulsatile amplitude in R, G, B (Wang 2017)
SKIN_RGB = np.array([180.0, 120.0, 90.0])


def face_trace(bpm, seconds=30.0, flicker=0.0, seed=0):
    """Mean face RGB: skin tone × (slow illumination drift + pulse along the skin signature
    + optional in-band common-mode flicker at 1.6× the pulse rate) + camera noise."""
    t = np.arange(int(seconds * FPS)) / FPS
    rng = np.random.default_rng(seed)
    drift = 1 + 0.05 * t / t[-1] + 0.02 * np.sin(2 * np.pi * 0.05 * t)
    beat = 0.003 * np.sin(2 * np.pi * bpm / 60 * t)
    flick = flicker * np.sin(2 * np.pi * 1.6 * bpm / 60 * t)
    relative = drift[:, None] * (1 + beat[:, None] * SKIN_PULSE) + flick[:, None]
    return SKIN_RGB * relative + rng.normal(0, 0.05, (t.size, 3))


def hr_of(wave):
    return pulse.hr_fft(pulse.to_pulse(wave, FPS), FPS)


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize("bpm", [62.0, 84.0, 117.0])
def test_baseline_recovers_heart_rate(name, bpm):
    rgb = face_trace(bpm, seed=int(bpm))
    wave = BASELINES[name](rgb, FPS)
    assert wave.shape == (rgb.shape[0],)
    assert hr_of(wave) == pytest.approx(bpm, abs=2)


def test_pos_and_chrom_reject_common_mode_flicker_green_does_not():
    bpm = 70.0
    rgb = face_trace(bpm, flicker=0.01)  # flicker 3× the pulse amplitude, at 112 bpm
    assert abs(hr_of(BASELINES["green"](rgb, FPS)) - bpm) > 20
    for name in ("pos", "chrom"):
        assert hr_of(BASELINES[name](rgb, FPS)) == pytest.approx(bpm, abs=2)
        snr = pulse.snr_db(pulse.to_pulse(BASELINES[name](rgb, FPS), FPS), FPS, bpm)
        green_snr = pulse.snr_db(pulse.to_pulse(BASELINES["green"](rgb, FPS), FPS), FPS, bpm)
        assert snr > green_snr + 10


def reference_pos(rgb, fps):
    """Wang et al. 2017, Algorithm 1, one window at a time."""
    n, win = len(rgb), math.ceil(1.6 * fps)
    h_total = np.zeros(n)
    for m in range(n - win + 1):
        c = rgb[m:m + win] / rgb[m:m + win].mean(axis=0)
        s1 = c[:, 1] - c[:, 2]
        s2 = -2 * c[:, 0] + c[:, 1] + c[:, 2]
        h = s1 + s1.std() / s2.std() * s2
        h_total[m:m + win] += h - h.mean()
    return pulse.bandpass(pulse.detrend(h_total), fps, 0.75, 3.0)


def reference_chrom(rgb, fps):
    """de Haan & Jeanne 2013 as the toolbox windows it (half-window hops, Hann, overlap-add)."""
    win = math.ceil(1.6 * fps)
    win += win % 2
    hop = win // 2
    b, a = scipy.signal.butter(3, [0.7 / fps * 2, 2.5 / fps * 2], "bandpass")
    out = np.zeros(len(rgb))
    for start in range(0, len(rgb) - win + 1, hop):
        c = rgb[start:start + win] / rgb[start:start + win].mean(axis=0)
        x = scipy.signal.filtfilt(b, a, 3 * c[:, 0] - 2 * c[:, 1])
        y = scipy.signal.filtfilt(b, a, 1.5 * c[:, 0] + c[:, 1] - 1.5 * c[:, 2])
        out[start:start + win] += (x - x.std() / y.std() * y) * np.hanning(win)
    return out


def test_pos_matches_per_window_reference():
    rgb = face_trace(80.0, seconds=8)
    np.testing.assert_allclose(pos(rgb, FPS), reference_pos(rgb, FPS), atol=1e-9)


def test_chrom_matches_per_window_reference():
    rgb = face_trace(80.0, seconds=9.6)  # 288 frames: whole half-window hops, no tail window
    np.testing.assert_allclose(chrom(rgb, FPS), reference_chrom(rgb, FPS), atol=1e-9)


def test_chrom_covers_the_tail():
    rgb = face_trace(80.0, seconds=10)  # 300 frames: not a whole number of 24-frame hops
    assert np.abs(chrom(rgb, FPS)[-12:]).max() > 0


def test_baselines_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(T, 3\)"):
        BASELINES["green"](np.zeros((10, 4)), FPS)
    with pytest.raises(ValueError, match="at least"):
        pos(np.ones((1, 3)), FPS)


def test_pos_reads_a_signal_shorter_than_its_window_as_one_window():
    rgb = face_trace(90.0, seconds=1.3)  # 39 frames < the 48 of 1.6 s
    assert len(rgb) < 48 and pos(rgb, FPS).shape == (len(rgb),) and np.isfinite(pos(rgb, FPS)).all()
