"""Which wave to trust: the signal quality of PhysNet's wave and of the chrominance wave, as
numbers the model reads per clip (`quality_features`) and as the fallback applied per video
(`video_gate`). Ours, not the paper's.

Why: the frozen PhysNet and POS fail on different videos (`git show 6a66b69:README.md`, "Accuracy"): the released
PhysNet reads our renders' hard conditions badly and POS well, real webcam clips the other way
round. A model trained where one of them is nearly always right learns to follow it; given the
quality of each wave instead, it can learn *when* to follow which.

- Per clip (`quality_features`, torch, outside the graph): each wave's band confidence (the
  share of its 0.75–2.5 Hz power within ±0.2 Hz of its peak; 0.83 for a pure tone, ≈0.3 for white
  noise), the correlation of the two waves, and how far apart their peaks are.
- Per video (`video_gate`): the input whose pulse has the higher SNR (de Haan & Jeanne 2013, the
  signal-quality index `physllm predict` reports, `pulse.snr_db` at its own peak) is the trusted
  one; PhysLLM's wave stands where its heart rate lies within `tolerance_bpm` of the trusted
  input's, and the trusted input's wave replaces it otherwise. A learned model's output is clean
  whether it is right or not, so its own SNR is no judge: the inputs' are. Measured on the two
  real vitallens clips (released UBFC-rPPG PhysNet vs POS, whole videos): the higher SNR picks
  the right reader on both (POS on clip 1, −1.9 vs −3.7 dB; PhysNet on clip 2, −0.4 vs −3.0 dB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from physllm import pulse

PEAK_HALF_WIDTH_HZ = 0.2  # a Hann-windowed 128-frame clip's main lobe at 30 fps is ±0.47 Hz
FFT_PAD = 8  # zero-padding factor: the peak is located to 0.03 Hz on a 128-frame clip
NUM_FEATURES = 4  # quality_features' columns


def band_peak(wave: torch.Tensor, fps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) → band confidence (B,) and peak frequency in Hz (B,) inside the pulse band (Hann
    window, zero-padded FFT)."""
    T = wave.shape[-1]
    w = (wave - wave.mean(-1, keepdim=True)) * torch.hann_window(T, periodic=False, dtype=wave.dtype,
                                                                   device=wave.device)
    power = torch.fft.rfft(w, n=FFT_PAD * T).abs().square()  # (B, F)
    freqs = torch.fft.rfftfreq(FFT_PAD * T, 1 / fps).to(device=wave.device, dtype=wave.dtype)
    band = (freqs >= pulse.LOW_HZ) & (freqs <= pulse.HIGH_HZ)
    power, freqs = power[:, band], freqs[band]
    peak = freqs[power.argmax(-1)]  # (B,)
    near = (freqs[None, :] - peak[:, None]).abs() <= PEAK_HALF_WIDTH_HZ
    return (power * near).sum(-1) / power.sum(-1).clamp_min(1e-12), peak


@torch.no_grad()
def quality_features(wave: torch.Tensor, chroma: torch.Tensor, fps: float) -> torch.Tensor:
    """PhysNet's wave and the chrominance wave, (B, T) each → (B, NUM_FEATURES): band confidence
    of each, their correlation, and their peaks' distance in Hz."""
    wave, chroma = wave.float(), chroma.float()
    conf_wave, peak_wave = band_peak(wave, fps)
    conf_chroma, peak_chroma = band_peak(chroma, fps)
    a = (wave - wave.mean(-1, keepdim=True)) / wave.std(-1, keepdim=True).clamp_min(1e-6)
    b = (chroma - chroma.mean(-1, keepdim=True)) / chroma.std(-1, keepdim=True).clamp_min(1e-6)
    correlation = (a * b).mean(-1)
    distance = (peak_wave - peak_chroma).abs()  # Hz: 1.0 is 60 bpm apart
    return torch.stack([conf_wave, conf_chroma, correlation, distance], dim=-1)  # (B, 4)


@dataclass(frozen=True)
class Reading:
    """One wave of a video read as a pulse: its HR (bpm, FFT peak) and the SNR there (dB)."""

    hr_bpm: float
    snr_db: float


def read_wave(wave: np.ndarray, fps: float, diff: bool) -> Reading:
    """A whole video's raw wave → its HR and SNR, as `physllm predict` and evaluate read them."""
    clean = pulse.to_pulse(wave, fps, diff=diff)
    hr = pulse.hr_fft(clean, fps)
    return Reading(hr, pulse.snr_db(clean, fps, hr))


def trusted_input(backbone: Reading, chroma: Reading) -> str:
    """'physnet' or 'chroma': the input whose pulse has the higher SNR (PhysNet on a tie)."""
    snr = lambda reading: -np.inf if np.isnan(reading.snr_db) else reading.snr_db  # noqa: E731
    return "chroma" if snr(chroma) > snr(backbone) else "physnet"


def video_gate(physllm: np.ndarray, backbone: np.ndarray, chroma: np.ndarray, fps: float,
               tolerance_bpm: float | None) -> tuple[np.ndarray, str]:
    """PhysLLM's joined wave of a video, or the trusted input's where their HRs differ by more
    than `tolerance_bpm` (all three DiffNormalized, (T,)); None never falls back. Returns the wave
    and which one it is ('physllm', 'physnet' or 'chroma')."""
    if tolerance_bpm is None:
        return physllm, "physllm"
    inputs = {"physnet": backbone, "chroma": chroma}
    readings = {name: read_wave(wave, fps, diff=True) for name, wave in inputs.items()}
    trusted = trusted_input(readings["physnet"], readings["chroma"])
    if abs(read_wave(physllm, fps, diff=True).hr_bpm - readings[trusted].hr_bpm) <= tolerance_bpm:
        return physllm, "physllm"
    return np.asarray(inputs[trusted], dtype=np.asarray(physllm).dtype), trusted
