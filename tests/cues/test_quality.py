"""Which wave to trust (physllm/cues/quality.py): per-clip quality features, the per-video fallback."""

import numpy as np
import torch

from physllm import pulse
from physllm.cues.quality import band_peak, quality_features, read_wave, trusted_input, video_gate

FPS = 30.0


def tone(hz: float, frames: int, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(frames) / FPS + phase)


def noise(frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(frames)


def test_band_confidence_is_high_for_a_pulse_and_low_for_noise():
    pulse_wave, noisy = torch.tensor(tone(1.3, 128)), torch.tensor(noise(128))
    conf, peak = band_peak(torch.stack([pulse_wave, noisy, 5 * pulse_wave + 3]), FPS)
    assert conf[0] > 0.8 and conf[1] < 0.5  # a tone: the Hann main lobe beyond ±0.2 Hz holds the rest
    torch.testing.assert_close(conf[2], conf[0])  # scale and offset do not matter
    assert abs(peak[0].item() - 1.3) < 0.05  # the tone's rate


def test_quality_features_say_which_wave_holds_a_pulse_and_whether_they_agree():
    wave = torch.tensor(np.stack([tone(1.3, 128), tone(1.3, 128), noise(128)]), dtype=torch.float32)
    chroma = torch.tensor(np.stack([tone(1.3, 128, 0.1), tone(2.0, 128), tone(1.3, 128)]), dtype=torch.float32)
    q = quality_features(wave, chroma, FPS)  # (B, 4): confidence of each, correlation, peak distance (Hz)
    assert q.shape == (3, 4)
    assert q[0, 2] > 0.9 and q[0, 3] < 0.05  # the same pulse: correlated, one peak
    assert abs(q[1, 2]) < 0.3 and abs(q[1, 3] - 0.7) < 0.05  # two rates: 42 bpm apart
    assert q[2, 0] < 0.5 < q[2, 1]  # noise in PhysNet's wave, a pulse in the chrominance wave


def test_the_trusted_input_is_the_one_with_the_higher_snr():
    frames = 900
    clean = np.diff(tone(1.2, frames + 1))  # DiffNormalized inputs: first differences of a pulse
    weak = np.diff(tone(1.2, frames + 1) + 3 * noise(frames + 1))
    clean, weak = read_wave(clean, FPS, diff=True), read_wave(weak, FPS, diff=True)
    assert clean.snr_db > weak.snr_db
    assert trusted_input(clean, weak) == "physnet"
    assert trusted_input(weak, clean) == "chroma"


def test_the_gate_keeps_physllm_near_the_trusted_input_and_replaces_it_far_from_it():
    frames = 900
    truth = np.diff(tone(1.2, frames + 1))  # 72 bpm
    wrong = np.diff(tone(1.6, frames + 1))  # 96 bpm
    near = np.diff(tone(1.25, frames + 1))  # 75 bpm
    weak = np.diff(tone(1.5, frames + 1) + 3 * noise(frames + 1))
    wave, kept = video_gate(wrong, truth, weak, FPS, tolerance_bpm=6.0)
    assert kept == "physnet" and np.array_equal(wave, truth)
    assert video_gate(near, truth, weak, FPS, 6.0)[1] == "physllm"
    assert video_gate(wrong, weak, truth, FPS, 6.0)[1] == "chroma"  # the other input is the surer
    assert video_gate(wrong, truth, weak, FPS, None) == (wrong, "physllm")  # None: never
    assert abs(read_wave(video_gate(wrong, truth, weak, FPS, 0.0)[0], FPS, diff=True).hr_bpm - 72) < 1
    assert abs(pulse.hr_fft(pulse.to_pulse(truth, FPS, diff=True), FPS) - 72) < 1
