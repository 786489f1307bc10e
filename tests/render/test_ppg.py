"""The synthetic PPG: beat shape, heart rate and its variability, breathing."""

import numpy as np
import pytest
import scipy.signal

from physllm.pulse import hr_fft, to_pulse
from physllm.render.ppg import beat_shape, draw_pulse_params, heart_rate_curve, normalized_pulse, synthesize_ppg

FPS = 30.0
HR_RANGE = (45.0, 150.0)


def subject(seed, seconds=30.0):
    rng = np.random.default_rng(seed)
    params = draw_pulse_params(rng, HR_RANGE)
    return params, synthesize_ppg(params, seconds, FPS, rng)


def test_beat_has_systolic_peak_then_dicrotic_notch():
    beat = beat_shape(np.linspace(0, 1, 1000, endpoint=False))
    peaks, _ = scipy.signal.find_peaks(beat)
    notches, _ = scipy.signal.find_peaks(-beat)
    assert len(peaks) == 2, "a systolic and a diastolic wave"
    systolic, diastolic = peaks
    assert beat[systolic] > beat[diastolic]
    assert np.any((notches > systolic) & (notches < diastolic)), "a notch between the two waves"


def test_beats_join_smoothly():
    beat = beat_shape(np.array([0.0, 1.0 - 1e-9]))
    assert beat[0] == pytest.approx(beat[1], abs=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_spectral_heart_rate_matches_the_written_heart_rate(seed):
    params, trace = subject(seed)
    assert hr_fft(to_pulse(trace.ppg, FPS), FPS) == pytest.approx(trace.hr_bpm.mean(), abs=2.0)
    assert trace.hr_bpm.mean() == pytest.approx(params.mean_hr_bpm, abs=3.0)


def test_heart_rates_cover_the_range_and_stay_inside_it():
    means, lows, highs = zip(*((t.hr_bpm.mean(), t.hr_bpm.min(), t.hr_bpm.max())
                               for t in (subject(seed)[1] for seed in range(60))))
    assert min(lows) >= HR_RANGE[0] and max(highs) <= HR_RANGE[1]
    assert min(means) < 65 and max(means) > 125, "subjects span slow to fast hearts"


def test_beat_to_beat_intervals_vary_around_the_mean_rate():
    _, trace = subject(3, seconds=60.0)
    peaks, _ = scipy.signal.find_peaks(trace.ppg, distance=int(FPS * 60 / 160))
    systolic = peaks[trace.ppg[peaks] > np.median(trace.ppg[peaks]) * 0.8]
    intervals = np.diff(systolic) / FPS
    assert 60 / intervals.mean() == pytest.approx(trace.hr_bpm.mean(), rel=0.05)
    assert intervals.std() > 0.01, "heart-rate variability: intervals are not all equal"
    assert trace.hr_bpm.std() > 0.5


def test_breathing_drives_the_baseline_and_the_heart_rate():
    rng = np.random.default_rng(0)
    params = draw_pulse_params(rng, HR_RANGE)
    trace = synthesize_ppg(params, 120.0, FPS, rng)
    low_band = scipy.signal.sosfiltfilt(scipy.signal.butter(4, 0.6, fs=FPS, output="sos"), trace.ppg)
    freqs, power = scipy.signal.periodogram(low_band - low_band.mean(), fs=FPS, nfft=1 << 14)
    band = freqs > 0.1
    assert freqs[band][np.argmax(power[band])] == pytest.approx(params.resp_hz, abs=0.02)
    hr_freqs, hr_power = scipy.signal.periodogram(heart_rate_curve(params, trace.times_s, rng), fs=FPS, nfft=1 << 14)
    near_resp = np.abs(hr_freqs - params.resp_hz) < 0.02
    assert hr_power[near_resp].max() > 10 * np.median(hr_power[(hr_freqs > 0.5) & (hr_freqs < 2)])


def test_normalized_pulse_is_centred_with_unit_span():
    _, trace = subject(1)
    bvp = normalized_pulse(trace.ppg)
    assert abs(bvp.mean()) < 1e-9 and np.ptp(bvp) == pytest.approx(1.0)
