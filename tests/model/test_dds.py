import numpy as np
import ptwt
import pytest
import pywt
import torch

from physllm.model.dds import DDS, DDSConfig, ewma


def ewma_loop(y: np.ndarray, alpha: float) -> np.ndarray:
    """The authors' recursion, row by row."""
    z = np.empty_like(y)
    z[..., 0] = y[..., 0]
    for i in range(1, y.shape[-1]):
        z[..., i] = alpha * y[..., i] + (1 - alpha) * z[..., i - 1]
    return z


def zscore_np(x: np.ndarray, eps: float) -> np.ndarray:
    return (x - x.mean(-1, keepdims=True)) / (x.std(-1, ddof=1, keepdims=True) + eps)


def dds_reference(x: np.ndarray, cfg: DDSConfig, beta: float) -> np.ndarray:
    """DDS with PyWavelets for the DWT/IDWT and a loop for the EWMA."""
    x = zscore_np(x, cfg.eps)
    z_time = ewma_loop(x, cfg.alpha)
    bands = pywt.wavedec(x, cfg.wavelet, mode=cfg.mode, level=cfg.levels)
    bands = [ewma_loop(zscore_np(c, cfg.eps), cfg.alpha) for c in bands]
    z_freq = pywt.waverec(bands, cfg.wavelet, mode=cfg.mode)[..., : x.shape[-1]]
    return (1 - beta) * z_time + beta * z_freq


@pytest.fixture
def wave():
    t = torch.arange(128, dtype=torch.float64) / 30
    g = torch.Generator().manual_seed(0)
    pulse = torch.sin(2 * torch.pi * 1.2 * t) + 0.3 * t  # a pulse on a drifting baseline
    return 5 * pulse + 0.2 * torch.randn(3, 128, generator=g, dtype=torch.float64)


def test_ewma_matches_the_recursion(wave):
    np.testing.assert_allclose(ewma(wave, 0.3).numpy(), ewma_loop(wave.numpy(), 0.3), atol=1e-12)


@pytest.mark.parametrize("mode", ["zero", "symmetric"])
@pytest.mark.parametrize("length", [128, 37])
def test_dds_matches_pywt_reference(wave, mode, length):
    cfg = DDSConfig(mode=mode)
    x = wave[:, :length]
    out = DDS(cfg).double()(x)
    np.testing.assert_allclose(out.detach().numpy(), dds_reference(x.numpy(), cfg, 0.7), atol=1e-6)  # ptwt: float32 filters


@pytest.mark.parametrize("length", [128, 37])
def test_wavelet_transform_matches_pywt_and_reconstructs(wave, length):
    """The contract DDS relies on: pywt's coefficients, and IDWT cropped to T gives x back."""
    cfg = DDSConfig()
    x = wave[:, :length]
    bands = ptwt.wavedec(x, cfg.wavelet, mode=cfg.mode, level=cfg.levels)
    for ours, ref in zip(bands, pywt.wavedec(x.numpy(), cfg.wavelet, mode=cfg.mode, level=cfg.levels)):
        np.testing.assert_allclose(ours.numpy(), ref, atol=1e-6)
    torch.testing.assert_close(ptwt.waverec(bands, cfg.wavelet)[..., :length], x, atol=1e-6, rtol=0)


def test_beta_is_clamped_to_the_unit_interval(wave):
    dds = DDS(DDSConfig()).double()
    x = (wave - wave.mean(-1, keepdim=True)) / (wave.std(-1, keepdim=True) + 1e-5)
    with torch.no_grad():
        dds.beta.fill_(1.7)
        torch.testing.assert_close(dds(wave), dds.freq_branch(x))
        dds.beta.fill_(-0.4)
        torch.testing.assert_close(dds(wave), dds.time_branch(x))


def test_gradients_reach_beta_and_input(wave):
    dds = DDS(DDSConfig()).double()
    x = wave.clone().requires_grad_()
    dds(x).pow(2).sum().backward()
    assert dds.beta.grad is not None and dds.beta.grad.abs() > 0
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_output_is_scale_and_offset_invariant(wave):
    dds = DDS(DDSConfig()).double()
    torch.testing.assert_close(dds(3 * wave + 10), dds(wave), atol=1e-5, rtol=0)  # up to ε


def test_dds_runs_in_float32_under_bf16_autocast():
    x = torch.randn(2, 128)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = DDS(DDSConfig())(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, DDS(DDSConfig())(x))
