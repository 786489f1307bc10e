"""The training objective (train/loss.py): known spectra, invariances, and the MSE term alone."""

import math

import pytest
import torch

from physllm.train.loss import band_spectrum, pulse_loss, spectral_loss

FPS = 30.0
T = 128


def sine(bpm: float, phase: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    t = torch.arange(T, dtype=torch.float64) / FPS
    return scale * torch.sin(2 * math.pi * bpm / 60 * t + phase)[None]  # (1, T)


def test_the_band_spectrum_of_a_sine_peaks_at_its_rate_and_sums_to_one():
    fps = torch.tensor([FPS])
    for bpm in (52.0, 75.0, 130.0):
        spectrum = band_spectrum(sine(bpm), fps)
        assert spectrum.shape == (1, 106)  # 45 … 150 bpm at 1 bpm
        assert 45 + spectrum.argmax().item() == pytest.approx(bpm, abs=1)
        assert spectrum.sum().item() == pytest.approx(1.0)


def test_the_frame_rate_sets_the_frequencies():
    """The same samples read at 60 fps are a pulse twice as fast."""
    spectrum = band_spectrum(sine(50.0), torch.tensor([2 * FPS]))
    assert 45 + spectrum.argmax().item() == pytest.approx(100, abs=1)


def test_spectral_loss_ignores_phase_and_scale_and_grows_with_the_rate_error():
    fps = torch.tensor([FPS])
    target = sine(72.0)
    assert spectral_loss(sine(72.0, phase=1.0, scale=5.0), target, fps).item() < 1e-3
    near, far = (spectral_loss(sine(bpm), target, fps).item() for bpm in (80.0, 120.0))
    assert 0.1 < near < far


def test_without_the_spectral_term_the_loss_is_the_authors_mse_of_z_scores():
    target = (sine(72.0) - sine(72.0).mean()) / sine(72.0).std()
    assert pulse_loss(3 * sine(72.0) + 1, target).item() == pytest.approx(0.0, abs=1e-6)
    assert pulse_loss(-sine(72.0), target).item() == pytest.approx(4.0, rel=0.02)  # 2(1 − r), r = −1


def test_the_spectral_term_adds_its_weight_and_its_gradient_reaches_the_prediction():
    fps = torch.tensor([FPS])
    pred, target = sine(80.0).requires_grad_(), sine(72.0)
    total = pulse_loss(pred, target, fps, spectral_weight=2.0)
    expected = pulse_loss(pred, target) + 2.0 * spectral_loss(pred, target, fps)
    assert total.item() == pytest.approx(expected.item())
    total.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
