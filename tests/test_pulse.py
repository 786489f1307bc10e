import numpy as np
import pytest
import scipy.sparse

from physllm import pulse

FPS = 30.0


def sine(freq_hz, seconds=20.0, fps=FPS, phase=0.0):
    t = np.arange(int(seconds * fps)) / fps
    return np.sin(2 * np.pi * freq_hz * t + phase)


def test_next_power_of_two():
    assert [pulse.next_power_of_two(n) for n in (1, 2, 3, 600, 1024)] == [1, 2, 4, 1024, 1024]


@pytest.mark.parametrize("bpm", [54.0, 72.0, 96.0, 138.0])
def test_hr_fft_finds_sine_frequency(bpm):
    x = sine(bpm / 60)
    resolution = 60 * FPS / pulse.next_power_of_two(len(x))  # bpm per FFT bin
    assert pulse.hr_fft(x, FPS) == pytest.approx(bpm, abs=resolution / 2)


def test_hr_fft_ignores_peaks_outside_the_band():
    x = 3 * sine(0.3) + sine(1.5)  # breathing-like drift is stronger but below 45 bpm
    assert pulse.hr_fft(x, FPS) == pytest.approx(90, abs=1)


def test_hr_peaks_counts_beats_not_dicrotic_notches():
    n = int(20 * FPS)
    x = np.zeros(n)
    beat = int(0.8 * FPS)  # 75 bpm, 24 frames
    k = np.arange(n)
    for start in range(0, n, beat):
        x += np.exp(-0.5 * ((k - start - 4) / 1.5) ** 2)
        x += 0.4 * np.exp(-0.5 * ((k - start - 13) / 1.5) ** 2)  # second wave 0.3 s later
    assert pulse.hr_peaks(x, FPS) == pytest.approx(75.0)


def test_hr_peaks_nan_without_two_peaks():
    assert np.isnan(pulse.hr_peaks(np.linspace(0, 1, 100), FPS))


def test_detrend_matches_dense_toolbox_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200).cumsum()
    n, lam = len(x), 100.0
    ones = np.ones(n)
    d = scipy.sparse.spdiags([ones, -2 * ones, ones], [0, 1, 2], n - 2, n).toarray()
    expected = (np.eye(n) - np.linalg.inv(np.eye(n) + lam**2 * d.T @ d)) @ x
    np.testing.assert_allclose(pulse.detrend(x, lam), expected, atol=1e-8)


def test_detrend_removes_quadratic_trend_and_keeps_pulse():
    t = np.arange(int(20 * FPS)) / FPS
    pulse_wave = sine(1.2)
    out = pulse.detrend(pulse_wave + 0.05 * (t - 10) ** 2)  # trend spans 5× the pulse amplitude
    middle = slice(len(t) // 4, 3 * len(t) // 4)  # the prior's edge effects aside
    np.testing.assert_allclose(out[middle], pulse_wave[middle], atol=0.1)


def test_bandpass_keeps_in_band_and_removes_out_of_band():
    middle = slice(150, 450)
    kept = pulse.bandpass(sine(1.3), FPS)
    assert np.abs(kept[middle]).max() == pytest.approx(1.0, abs=0.1)
    for freq in (0.1, 8.0):
        assert np.abs(pulse.bandpass(sine(freq), FPS)[middle]).max() < 0.1


def test_diff_normalize_label_known_answer():
    out = pulse.diff_normalize_label(np.array([0.0, 1.0, 3.0, 6.0]))
    std = np.std([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out, [1 / std, 2 / std, 3 / std, 0.0], rtol=1e-6)
    assert out.dtype == np.float32


def test_to_pulse_integrates_diff_normalized_outputs():
    x = sine(1.4) + np.linspace(0, 3, 600)
    label = pulse.diff_normalize_label(x)
    assert pulse.hr_fft(pulse.to_pulse(label, FPS, diff=True), FPS) == pytest.approx(84, abs=1)
    np.testing.assert_allclose(pulse.to_pulse(label, FPS, diff=True),
                               pulse.to_pulse(np.cumsum(label.astype(np.float64)), FPS))


def test_snr_db_known_answer_and_ordering():
    fps, n = 32.0, 1024  # 1/32 Hz bins: the tones below sit exactly on bins, no leakage
    t = np.arange(n) / fps
    signal = np.sin(2 * np.pi * 1.25 * t)
    other = np.sin(2 * np.pi * 2.0 * t)  # in band, away from 1.25 Hz and its harmonic 2.5 Hz
    assert pulse.snr_db(signal + other, fps, 75.0) == pytest.approx(0.0, abs=1e-6)
    harmonic = 0.5 * np.sin(2 * np.pi * 2.5 * t)  # counts as signal
    assert pulse.snr_db(signal + harmonic + other, fps, 75.0) == pytest.approx(
        10 * np.log10(1.25), abs=1e-6)
    noise = np.random.default_rng(1).normal(size=n)
    assert pulse.snr_db(signal + 0.1 * noise, fps, 75.0) > 10 > pulse.snr_db(noise, fps, 75.0)


@pytest.mark.parametrize("seconds", [7, 10, 17])
def test_hr_fft_reads_a_sine_between_bins_within_0_1_bpm(seconds):
    """The toolbox's bins are 60·fps/nfft apart (3.5 bpm for 17 s); the zero-padded, interpolated
    read-out is not quantised."""
    t = np.arange(int(seconds * FPS)) / FPS
    x = np.sin(2 * np.pi * 71.3 / 60 * t + 0.4)
    assert pulse.hr_fft(x, FPS) == pytest.approx(71.3, abs=0.1)
    assert abs(pulse.hr_fft(x, FPS, resolution_bpm=None) - 71.3) > 0.1  # the toolbox's bins miss it
