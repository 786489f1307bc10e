"""Pulse-signal processing as the rPPG field does it (rPPG-Toolbox's post-processing).

Per video: integrate DiffNormalized outputs (cumulative sum), detrend with smoothness priors
(Tarvainen et al. 2002, λ=100), Butterworth band-pass, then heart rate from the periodogram
peak or from the mean inter-beat interval of detected peaks. The band is 0.75–2.5 Hz
(45–150 bpm), the band the toolbox's comment says matches the paper.

The toolbox reads the periodogram with nfft = the next power of two, one bin per 60·fps/nfft bpm
(3.5 bpm for 17 s at 30 fps), so a 1.7 bpm error can read as 0. Here the spectrum is zero-padded
to a bin of at most `RESOLUTION_BPM` and the peak refined by a parabola through the log power of
its three bins (Gaussian interpolation, Gasior & Gonzalez 2004), for prediction and truth alike; `resolution_bpm=None`
gives the toolbox's reading. This module is a leaf: numpy and scipy only.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import scipy.sparse
import scipy.sparse.linalg

LOW_HZ = 0.75  # 45 bpm: rPPG-Toolbox post-processing band (comment in post_process.py)
HIGH_HZ = 2.5  # 150 bpm
DETREND_LAMBDA = 100.0  # rPPG-Toolbox calculate_metric_per_video
SNR_HALF_WIDTH_BPM = 6.0  # toolbox _calculate_SNR: ±6 bpm around the fundamental and 2nd harmonic
RESOLUTION_BPM = 0.1  # FFT bin of the HR read-out: finer than any error worth reporting


def next_power_of_two(n: int) -> int:
    return 1 if n <= 1 else 2 ** (n - 1).bit_length()


def detrend(x: np.ndarray, lam: float = DETREND_LAMBDA) -> np.ndarray:
    """Smoothness-priors detrending: x − (I + λ²DᵀD)⁻¹x with D the second-difference operator.

    Solved as a sparse banded system, so a ten-minute video costs milliseconds, where the
    toolbox's dense inverse costs O(T³).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 3:
        return x - x.mean()
    ones = np.ones(n)
    d = scipy.sparse.spdiags([ones, -2 * ones, ones], [0, 1, 2], n - 2, n)
    system = scipy.sparse.identity(n) + lam**2 * (d.T @ d)
    trend = scipy.sparse.linalg.spsolve(system.tocsc(), x)
    return x - trend


def bandpass(x: np.ndarray, fps: float, low_hz: float = LOW_HZ, high_hz: float = HIGH_HZ,
             order: int = 1) -> np.ndarray:
    """Zero-phase Butterworth band-pass (order 1 as in the toolbox)."""
    b, a = scipy.signal.butter(order, [low_hz / fps * 2, high_hz / fps * 2], btype="bandpass")
    x = np.asarray(x, dtype=np.float64)
    padlen = min(3 * max(len(a), len(b)), x.shape[0] - 1)
    return scipy.signal.filtfilt(b, a, x, padlen=padlen)


def to_pulse(x: np.ndarray, fps: float, diff: bool = False) -> np.ndarray:
    """A raw model output or label → a clean pulse: cumsum if DiffNormalized, detrend, band-pass."""
    x = np.asarray(x, dtype=np.float64)
    if diff:
        x = np.cumsum(x)
    return bandpass(detrend(x), fps)


def power_spectrum(x: np.ndarray, fps: float,
                   resolution_bpm: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Periodogram over the last axis: nfft the next power of two of its length (the toolbox's), or
    zero-padded to a bin of at most `resolution_bpm`."""
    x = np.asarray(x, dtype=np.float64)
    nfft = next_power_of_two(x.shape[-1])
    if resolution_bpm is not None:
        nfft = max(nfft, next_power_of_two(int(np.ceil(60.0 * fps / resolution_bpm))))
    freqs, power = scipy.signal.periodogram(x, fs=fps, nfft=nfft, detrend=False, axis=-1)
    return freqs, power


def spectral_peak(freqs: np.ndarray, power: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Frequency (Hz) of the highest in-band bin, refined by a parabola through its log power and
    its two neighbours' (exact for a Gaussian-shaped peak; stays within ± half a bin)."""
    band = np.flatnonzero((freqs >= low_hz) & (freqs <= high_hz))
    k = band[np.argmax(power[band])]
    if k == 0 or k == len(power) - 1 or not np.all(power[k - 1:k + 2] > 0):
        return float(freqs[k])
    a, b, c = np.log(power[k - 1:k + 2])
    curvature = a - 2 * b + c
    offset = 0.5 * (a - c) / curvature if curvature < 0 else 0.0
    return float(freqs[k] + np.clip(offset, -0.5, 0.5) * (freqs[1] - freqs[0]))


def hr_fft(x: np.ndarray, fps: float, low_hz: float = LOW_HZ, high_hz: float = HIGH_HZ,
           resolution_bpm: float | None = RESOLUTION_BPM) -> float:
    """Heart rate (bpm) at the periodogram's peak inside the pulse band (see the module docstring
    for `resolution_bpm`; None reads the toolbox's power-of-two bins without interpolation)."""
    freqs, power = power_spectrum(x, fps, resolution_bpm)
    if resolution_bpm is None:
        band = (freqs >= low_hz) & (freqs <= high_hz)
        return float(freqs[band][np.argmax(power[band])] * 60.0)
    return spectral_peak(freqs, power, low_hz, high_hz) * 60.0


def hr_peaks(x: np.ndarray, fps: float, high_hz: float = HIGH_HZ) -> float:
    """Heart rate (bpm) from the mean interval between systolic peaks.

    Peaks closer than one beat at the band's upper edge are merged, so a dicrotic notch
    does not count as a beat. Returns nan when fewer than two peaks are found.
    """
    peaks, _ = scipy.signal.find_peaks(np.asarray(x), distance=max(1, int(fps / high_hz)))
    if peaks.size < 2:
        return float("nan")
    return float(60.0 * fps / np.mean(np.diff(peaks)))


def snr_db(x: np.ndarray, fps: float, hr_bpm: float, low_hz: float = LOW_HZ,
           high_hz: float = HIGH_HZ) -> float:
    """Signal-to-noise ratio (de Haan & Jeanne 2013) as the toolbox computes it.

    Power within ±6 bpm of the fundamental and of its second harmonic, against the power in
    the rest of the band, in dB (10·log10 of the power ratio).
    """
    freqs, power = power_spectrum(x, fps)
    f1 = hr_bpm / 60.0
    half_width = SNR_HALF_WIDTH_BPM / 60.0
    near_f1 = np.abs(freqs - f1) <= half_width
    near_f2 = np.abs(freqs - 2 * f1) <= half_width
    rest = (freqs >= low_hz) & (freqs <= high_hz) & ~near_f1 & ~near_f2
    signal_power = power[near_f1].sum() + power[near_f2].sum()
    noise_power = power[rest].sum()
    if signal_power <= 0 or noise_power <= 0:
        return float("nan")
    return float(10.0 * np.log10(signal_power / noise_power))


def zscore(x, eps: float = 1e-8, ddof: int = 0):
    """Zero mean, unit standard deviation along the last axis (a constant row becomes zeros).

    `x` a numpy array (float64 out) or a torch tensor (its dtype, differentiable; duck-typed, so
    this module stays free of torch). The model's blocks and loss pass `ddof=1`: the unbiased
    `torch.std` of the authors' code (model/dds.py)."""
    if hasattr(x, "detach"):  # a torch tensor
        return (x - x.mean(-1, keepdim=True)) / (x.std(-1, correction=ddof, keepdim=True) + eps)
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(-1, keepdims=True)) / (x.std(-1, ddof=ddof, keepdims=True) + eps)


def diff_normalize_label(ppg: np.ndarray) -> np.ndarray:
    """rPPG-Toolbox's DiffNormalized label: first difference / its std, zero-padded at the end."""
    ppg = np.asarray(ppg, dtype=np.float64)
    diff = np.diff(ppg)
    std = diff.std()
    diff = diff / std if std > 0 else diff
    return np.append(diff, 0.0).astype(np.float32)
