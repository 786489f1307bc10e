"""The classic (unsupervised) rPPG methods, on the per-frame mean RGB of the face's skin: the
baselines `evaluate` reports beside PhysLLM, `physllm predict --baseline`, and (POS) PhysLLM's
chrominance cue (physllm/cues/chrominance.py). The learned methods are in physllm/model/
(physnet.py, physllm.py); these need only numpy and `pulse`, so they sit beside pulse.py where
every layer can use them (inside model/ they would close a loop: the model reads cues/quality.py,
and cues/chrominance.py reads POS).

Each takes `rgb` float (T, 3) and `fps` and returns a pulse waveform (T,), which the report
then post-processes like any model output (`physllm.pulse.to_pulse`). Written after
rPPG-Toolbox's `unsupervised_methods/methods/` (GREEN.py, CHROME_DEHAAN.py, POS_WANG.py):
- GREEN: Verkruysse, Svaasand & Nelson (2008), "Remote plethysmographic imaging using ambient
  light", Optics Express 16 — the green channel as it is.
- CHROM: de Haan & Jeanne (2013), "Robust pulse rate from chrominance-based rPPG", IEEE TBME 60 —
  per 1.6 s window: normalise by the window mean, X = 3R − 2G, Y = 1.5R + G − 1.5B, band-pass,
  S = X − (σX/σY)·Y, Hann-weighted and overlap-added at half-window hops.
- POS: Wang, den Brinker, Stuijk & de Haan (2017), "Algorithmic principles of remote PPG",
  IEEE TBME 64 — per 1.6 s window sliding by one frame: normalise by the window mean, project on
  the plane orthogonal to the skin tone, h = S₁ + (σ₁/σ₂)·S₂, overlap-added; then detrend and
  band-pass 0.75–3 Hz as the toolbox's POS_WANG does.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from physllm import pulse

WINDOW_SECONDS = 1.6  # both papers (and the toolbox): about one pulse period at 40 bpm
CHROM_BAND_HZ = (0.7, 2.5)  # toolbox CHROME_DEHAAN: order-3 Butterworth per window
CHROM_FILTER_ORDER = 3
POS_BAND_HZ = (0.75, 3.0)  # toolbox POS_WANG's own post-filter
POS_PROJECTION = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])  # Wang et al. 2017, eq. 10
EPS = 1e-12  # a constant channel (no face, saturated crop) gives σ = 0: no division by zero


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 2 or rgb.shape[1] != 3:
        raise ValueError(f"expected per-frame mean RGB of shape (T, 3), got {rgb.shape}")
    return rgb


def green(rgb: np.ndarray, fps: float) -> np.ndarray:
    """GREEN: the green channel (fps unused; kept for the common signature)."""
    return _check_rgb(rgb)[:, 1].copy()


def chrom_window(fps: float) -> int:
    """CHROM's window in frames: WINDOW_SECONDS, rounded up to even so that half-window hops tile
    the signal exactly."""
    win = math.ceil(WINDOW_SECONDS * fps)
    return win + win % 2


def chrom(rgb: np.ndarray, fps: float) -> np.ndarray:
    """CHROM (de Haan & Jeanne 2013), windowed with 50% overlap-add of Hann-weighted windows."""
    rgb = _check_rgb(rgb)
    n = rgb.shape[0]
    win = chrom_window(fps)
    if n < win:
        raise ValueError(f"CHROM needs at least {win} frames ({WINDOW_SECONDS} s), got {n}")
    hop = win // 2
    starts = list(range(0, n - win + 1, hop))
    if starts[-1] + win < n:  # the toolbox drops the tail; one window flush with the end keeps (T,)
        starts.append(n - win)
    windows = rgb[np.array(starts)[:, None] + np.arange(win)]  # (W, win, 3)
    norm = windows / (windows.mean(axis=1, keepdims=True) + EPS)
    r, g, b = norm[..., 0], norm[..., 1], norm[..., 2]
    x = 3 * r - 2 * g
    y = 1.5 * r + g - 1.5 * b
    bb, aa = scipy.signal.butter(CHROM_FILTER_ORDER, [f / fps * 2 for f in CHROM_BAND_HZ],
                                 btype="bandpass")
    padlen = min(3 * max(len(aa), len(bb)), win - 1)  # short windows at low frame rates
    xf = scipy.signal.filtfilt(bb, aa, x, axis=1, padlen=padlen)
    yf = scipy.signal.filtfilt(bb, aa, y, axis=1, padlen=padlen)
    alpha = xf.std(axis=1, keepdims=True) / (yf.std(axis=1, keepdims=True) + EPS)
    s = (xf - alpha * yf) * scipy.signal.windows.hann(win)  # (W, win)
    out = np.zeros(n)
    for start, seg in zip(starts, s):
        out[start:start + win] += seg
    return out


def pos(rgb: np.ndarray, fps: float) -> np.ndarray:
    """POS (Wang et al. 2017, Algorithm 1), then the toolbox's detrend and 0.75–3 Hz band-pass.
    A signal shorter than the 1.6-s window is one window (Algorithm 1 with l = n)."""
    rgb = _check_rgb(rgb)
    n = rgb.shape[0]
    if n < 2:
        raise ValueError(f"POS needs at least 2 frames, got {n}")
    win = min(math.ceil(WINDOW_SECONDS * fps), n)
    windows = sliding_window_view(rgb, win, axis=0)  # (W, 3, win), W = n − win + 1
    norm = windows / (windows.mean(axis=2, keepdims=True) + EPS)
    s = np.einsum("pc,wct->wpt", POS_PROJECTION, norm)  # (W, 2, win)
    alpha = s[:, 0].std(axis=1, keepdims=True) / (s[:, 1].std(axis=1, keepdims=True) + EPS)
    h = s[:, 0] + alpha * s[:, 1]
    h -= h.mean(axis=1, keepdims=True)  # (W, win)
    out = np.zeros(n)
    for lag in range(win):  # overlap-add: window w covers frames w … w + win − 1
        out[lag:lag + h.shape[0]] += h[:, lag]
    return pulse.bandpass(pulse.detrend(out), fps, *POS_BAND_HZ)


BASELINES: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "green": green,
    "chrom": chrom,
    "pos": pos,
}
