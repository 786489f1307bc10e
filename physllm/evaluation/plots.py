"""Figures for papers and for `physllm predict` (matplotlib, Agg backend: no display needed).

- `bland_altman`: the toolbox's difference plot (`evaluation/BlandAltmanPy.py`): difference
  against mean of predicted and true HR, with the bias and the 95% limits of agreement
  (bias ± 1.96·SD; Bland & Altman 1986).
- `waveform_overlay`: each method's pulse against the ground truth over the first seconds.
- `prediction_figure`: waveform, spectrogram (0.6–3 Hz) and the HR track with its confidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402

from physllm import pulse  # noqa: E402

if TYPE_CHECKING:
    from physllm.evaluation.report import VideoSignals

SPECTROGRAM_BAND_HZ = (0.6, 3.0)  # 36–180 bpm: a little wider than the HR band, to show harmonics
SPECTROGRAM_SECONDS = 8.0  # segment length: 0.125 Hz (7.5 bpm) resolution
DPI = 120


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def bland_altman(pred, true, path: str | Path, title: str) -> Path:
    """Bland–Altman difference plot of predicted vs true HR (bpm); finite pairs only."""
    pred, true = np.asarray(pred, dtype=float), np.asarray(true, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(true)
    mean, diff = (pred[ok] + true[ok]) / 2, pred[ok] - true[ok]
    bias, sd = (diff.mean(), diff.std()) if diff.size else (np.nan, np.nan)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(mean, diff, s=14, alpha=0.7)
    ax.axhline(bias, color="k", label=f"bias {bias:.2f} bpm")
    for limit in (bias - 1.96 * sd, bias + 1.96 * sd):
        ax.axhline(limit, color="k", linestyle="--")
    ax.plot([], [], "k--", label=f"95% limits ±{1.96 * sd:.2f} bpm")
    ax.set(xlabel="Mean of predicted and true HR (bpm)", ylabel="Predicted − true HR (bpm)",
           title=title)
    ax.legend(loc="best", fontsize="small")
    return _save(fig, path)


def waveform_overlay(video: "VideoSignals", path: str | Path, seconds: float = 10) -> Path:
    """One panel per method: its pulse and the ground truth's, z-scored, over the first seconds."""
    n = min(len(video.truth_ppg), int(round(seconds * video.fps)))
    t = np.arange(n) / video.fps
    truth = pulse.zscore(pulse.to_pulse(video.truth_ppg, video.fps)[:n])
    names = list(video.methods)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.8 * len(names) + 0.6), sharex=True,
                             squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        wave = pulse.to_pulse(video.methods[name], video.fps, diff=name in video.diff_methods)
        ax.plot(t, truth, color="0.5", lw=1.2, label="ground truth")
        ax.plot(t, pulse.zscore(wave[:n]), lw=1.2, label=name)
        ax.set_ylabel("z")
        ax.legend(loc="upper right", fontsize="small", ncol=2)
    axes[-1, 0].set_xlabel("Time (s)")
    axes[0, 0].set_title(video.video_id)
    return _save(fig, path)


def prediction_figure(times, wave, fps: float, window_times, window_hr, window_conf,
                      path: str | Path, min_conf: float = 0.5) -> Path:
    """Waveform, its spectrogram in the pulse band, and the per-window HR track.

    Windows whose confidence is below `min_conf` are drawn as gaps in the HR line, so an
    unreliable estimate is never read as a measurement.
    """
    times, wave = np.asarray(times, dtype=float), np.asarray(wave, dtype=float)
    window_times = np.asarray(window_times, dtype=float)
    window_conf = np.asarray(window_conf, dtype=float)
    hr = np.where(window_conf >= min_conf, np.asarray(window_hr, dtype=float), np.nan)
    fig, (ax_w, ax_s, ax_h) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)

    ax_w.plot(times, wave, lw=1)
    ax_w.set(ylabel="Pulse (a.u.)", title="Predicted pulse")

    nperseg = min(len(wave), int(SPECTROGRAM_SECONDS * fps))
    freqs, seg_times, power = scipy.signal.spectrogram(
        wave, fs=fps, nperseg=nperseg, noverlap=nperseg * 7 // 8,
        nfft=max(256, pulse.next_power_of_two(nperseg)))
    band = (freqs >= SPECTROGRAM_BAND_HZ[0]) & (freqs <= SPECTROGRAM_BAND_HZ[1])
    ax_s.pcolormesh(seg_times + times[0], freqs[band] * 60, power[band], shading="auto")
    ax_s.set(ylabel="Frequency (bpm)", title="Spectrogram")

    ax_h.plot(window_times, hr, "o-", lw=1.5, ms=4, label="HR")
    reliable = window_conf >= min_conf
    ax_h.scatter(window_times[~reliable], np.asarray(window_hr, dtype=float)[~reliable],
                 marker="x", color="0.6", label=f"confidence < {min_conf:g} (not used)")
    conf_ax = ax_h.twinx()
    conf_ax.fill_between(window_times, window_conf, step="mid", alpha=0.15, color="tab:green")
    conf_ax.set(ylim=(0, 1), ylabel="Confidence")
    ax_h.set(xlabel="Time (s)", ylabel="HR (bpm)", title="Heart rate per window")
    ax_h.legend(loc="upper left", fontsize="small")
    return _save(fig, path)
