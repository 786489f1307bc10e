"""A synthetic PPG: a beat template driven by a heart-rate that drifts, varies and breathes.

The construction follows ECGSYN (McSharry et al., "A dynamical model for generating synthetic
electrocardiogram signals", IEEE TBME 2003): a phase that advances at the instantaneous heart
rate, Gaussian kernels placed on that phase for the waveform, and heart-rate variability as a
Mayer-wave (~0.1 Hz) component plus respiratory sinus arrhythmia. The beat is the two-Gaussian
pulse of PPG synthesisers (e.g. Tang et al., "PPGSynth", Frontiers in Medicine 2020): a
systolic peak, then a smaller diastolic wave whose gap to the first is the dicrotic notch.
Breathing modulates the pulse amplitude and the baseline as well (Charlton et al., "Breathing
rate estimation from the ECG and PPG", Physiological Measurement 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

# The beat, as fractions of one cardiac cycle: (amplitude, centre, width) per Gaussian.
SYSTOLIC = (1.0, 0.22, 0.075)  # the upstroke takes ~20% of the cycle, peak first
DIASTOLIC = (0.45, 0.52, 0.11)  # reflected wave, about half the systolic height
BEAT_JITTER_S = 0.25  # smoothing of the white HRV noise: a beat-to-beat time scale


@dataclass(frozen=True)
class PulseParams:
    """One subject's cardio-respiratory parameters (drawn by `draw_pulse_params`)."""

    mean_hr_bpm: float
    drift_bpm: float  # amplitude of the slow heart-rate drift over the video
    mayer_bpm: float  # ~0.1 Hz heart-rate oscillation (Mayer waves, LF band of HRV)
    rsa_bpm: float  # respiratory sinus arrhythmia: heart-rate swing at the breathing rate
    jitter_bpm: float  # beat-to-beat variability
    resp_hz: float  # breathing rate
    resp_amplitude: float  # relative pulse-amplitude modulation by breathing
    resp_baseline: float  # baseline wander by breathing, in systolic-peak units


@dataclass(frozen=True)
class PPGTrace:
    """A PPG sampled at the frame times, with its instantaneous heart rate (UBFC's three lines)."""

    ppg: np.ndarray  # float64[T]
    hr_bpm: np.ndarray  # float64[T]
    times_s: np.ndarray  # float64[T]


def draw_pulse_params(rng: np.random.Generator, hr_range_bpm: tuple[float, float]) -> PulseParams:
    """Resting-adult ranges: HRV swings of a few bpm (Task Force of the ESC/NASPE, Circulation
    1996), breathing 9–24 breaths/min (0.15–0.4 Hz). The mean is drawn far enough inside the
    range that the drifting heart rate stays within it."""
    drift, mayer, rsa, jitter = rng.uniform([1, 0.5, 1, 0.5], [4, 2, 3, 1.5])
    margin = drift + mayer + rsa + 2 * jitter
    low, high = hr_range_bpm
    return PulseParams(
        mean_hr_bpm=float(rng.uniform(low + margin, high - margin)),
        drift_bpm=float(drift), mayer_bpm=float(mayer), rsa_bpm=float(rsa), jitter_bpm=float(jitter),
        resp_hz=float(rng.uniform(0.15, 0.4)),
        resp_amplitude=float(rng.uniform(0.05, 0.15)),
        resp_baseline=float(rng.uniform(0.05, 0.2)),
    )


def beat_shape(phase: np.ndarray) -> np.ndarray:
    """The two-Gaussian beat at cycle phase in [0, 1), wrapped so consecutive beats join smoothly."""
    shape = np.zeros_like(phase)
    for amplitude, centre, width in (SYSTOLIC, DIASTOLIC):
        for wrap in (-1.0, 0.0, 1.0):
            shape += amplitude * np.exp(-0.5 * ((phase - centre - wrap) / width) ** 2)
    return shape


def heart_rate_curve(params: PulseParams, times_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Instantaneous heart rate (bpm): mean + slow drift + Mayer wave + RSA + beat-to-beat jitter."""
    dt = times_s[1] - times_s[0]
    duration = times_s[-1] + dt
    phases = rng.uniform(0, 2 * np.pi, size=3)
    # At most a quarter cycle per video (or per minute, if longer): a trend, not an oscillation.
    drift = params.drift_bpm * np.sin(np.pi * times_s / (2 * max(duration, 60.0)) * rng.uniform(1, 2) + phases[0])
    mayer = params.mayer_bpm * np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * times_s + phases[1])
    rsa = params.rsa_bpm * np.sin(2 * np.pi * params.resp_hz * times_s + phases[2])
    jitter = gaussian_filter1d(rng.standard_normal(times_s.shape), BEAT_JITTER_S / dt, mode="wrap")
    jitter *= params.jitter_bpm / max(jitter.std(), 1e-9)
    return params.mean_hr_bpm + drift + mayer + rsa + jitter


def synthesize_ppg(params: PulseParams, seconds: float, fps: float, rng: np.random.Generator) -> PPGTrace:
    """A PPG at the frame times: the beat on the integrated heart-rate phase, with per-beat
    amplitude variation and respiratory amplitude and baseline modulation."""
    num_frames = int(round(seconds * fps))
    times = np.arange(num_frames) / fps
    hr = heart_rate_curve(params, times, rng)
    phase = np.cumsum(hr / 60.0) / fps + rng.uniform()  # cycles
    beat_index = np.floor(phase).astype(int)
    beat_gain = rng.normal(1.0, 0.04, size=beat_index.max() + 1)  # stroke volume varies per beat
    breath = np.sin(2 * np.pi * params.resp_hz * times + rng.uniform(0, 2 * np.pi))
    ppg = beat_shape(phase - beat_index) * beat_gain[beat_index] * (1 + params.resp_amplitude * breath)
    ppg += params.resp_baseline * breath
    return PPGTrace(ppg=ppg, hr_bpm=hr, times_s=times)


def normalized_pulse(ppg: np.ndarray) -> np.ndarray:
    """The PPG scaled to zero mean and unit peak-to-peak: the blood-volume pulse the renderer uses."""
    centred = ppg - ppg.mean()
    return centred / max(np.ptp(centred), 1e-12)
