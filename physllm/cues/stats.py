"""The statistics cue of PhysLLM: numbers about a clip's waveform, and the sentence the LLM reads.

After Time-LLM (Jin et al., ICLR 2024, models/TimeLLM.py): min, max, median, the trend as the
sign of the summed first differences, and the top-5 lags of the FFT autocorrelation
(`calcute_lags`; here beyond lag 0's main lobe, see `top_lags`), rendered as "Input
statistics: min value …, the trend of input is upward, top 5 lags are: […]". We add the
dominant frequency inside the pulse band (0.75–2.5 Hz) in bpm.
Everything is computed for a batch of clips at once (B, T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physllm.pulse import HIGH_HZ, LOW_HZ, power_spectrum

TOP_K = 5  # Time-LLM's prompt: "top 5 lags"


@dataclass(frozen=True)
class WaveStats:
    min: float
    max: float
    median: float
    trend: float  # Γ(x) = Σ_i (x_i − x_{i−1}); > 0 reads "upward"
    lags: tuple[int, ...]  # strongest autocorrelation lags in frames, strongest first
    dominant_hz: float  # periodogram peak inside the pulse band

    def as_columns(self, text: str) -> dict:
        """The stats_* columns of a shard row (shards/schema.py)."""
        return {"stats_min": self.min, "stats_max": self.max, "stats_median": self.median,
                "stats_trend": self.trend, "stats_lags": np.asarray(self.lags, dtype=np.int32),
                "stats_text": text}


def autocorrelation(waves: np.ndarray) -> np.ndarray:
    """Autocorrelation for lags 0 … T−1 through the FFT (Wiener–Khinchin), (B, T) → (B, T).

    As Time-LLM's calcute_lags (irfft of X·conj(X)), but on the mean-removed wave (Time-LLM's
    input is already instance-normalised) and zero-padded to 2T, so lag k pairs x_i with
    x_{i+k} only, instead of wrapping around the clip's end.
    """
    x = waves - waves.mean(axis=-1, keepdims=True)
    t = x.shape[-1]
    spectrum = np.fft.rfft(x, n=2 * t, axis=-1)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=2 * t, axis=-1)[:, :t]  # (B, T)


def top_lags(waves: np.ndarray, top_k: int = TOP_K) -> np.ndarray:
    """The `top_k` lags of highest autocorrelation, beyond lag 0's main lobe, (B, T) → (B, k).

    Lag 0 is always the maximum, and the lags next to it are high only because the wave is
    smooth: taken as they come (Time-LLM does) they fill the top 5 with 1, 2, 3 … and hide the
    pulse period. So lags count from where the autocorrelation first drops to zero or below
    (a mean-removed wave always gets there); the period then comes first.
    """
    corr = autocorrelation(waves)  # (B, T)
    lag = np.arange(corr.shape[-1])
    first_nonpositive = np.argmax(corr <= 0, axis=-1)  # (B,); 0 for an all-zero wave
    in_main_lobe = lag[None, :] < first_nonpositive[:, None]
    # Main-lobe lags rank after all others (−inf) so that a wave too short to have k others
    # still gets k lags; lag 0 itself ranks last of all (nan sorts to the end).
    key = np.where(in_main_lobe, -np.inf, corr)
    key[:, 0] = np.nan
    return np.argsort(-key, axis=-1, kind="stable")[:, :top_k]  # (B, k)


def dominant_hz(waves: np.ndarray, fps: float) -> np.ndarray:
    """Frequency of the periodogram's peak inside 0.75–2.5 Hz, (B, T) → (B,); nan if no bin is.

    physllm.pulse.power_spectrum along the last axis, so a batch costs one call.
    """
    freqs, power = power_spectrum(waves, fps)
    band = (freqs >= LOW_HZ) & (freqs <= HIGH_HZ)
    if not band.any():  # a clip too short for the periodogram to resolve the band
        return np.full(waves.shape[0], np.nan)
    return freqs[band][np.argmax(power[:, band], axis=-1)]


def compute_stats_batch(waves: np.ndarray, fps: float, top_k: int = TOP_K) -> list[WaveStats]:
    """Stats of each clip's wave, (B, T) → B WaveStats."""
    waves = np.asarray(waves, dtype=np.float64)
    if waves.ndim != 2 or waves.shape[-1] <= top_k:
        raise ValueError(f"expected waves of shape (B, T) with T > {top_k}, got {waves.shape}")
    trend = waves[:, -1] - waves[:, 0]  # Σ(x_i − x_{i−1}) telescopes to last − first
    columns = zip(waves.min(axis=-1), waves.max(axis=-1), np.median(waves, axis=-1), trend,
                  top_lags(waves, top_k), dominant_hz(waves, fps))
    return [WaveStats(float(lo), float(hi), float(med), float(tr), tuple(int(k) for k in lags),
                      float(hz)) for lo, hi, med, tr, lags, hz in columns]


def compute_stats(wave: np.ndarray, fps: float, top_k: int = TOP_K) -> WaveStats:
    return compute_stats_batch(np.asarray(wave)[None, :], fps, top_k)[0]


def render_stats_text(stats: WaveStats) -> str:
    """Time-LLM's "Input statistics" sentence, plus the dominant frequency in bpm."""
    lags = ", ".join(str(k) for k in stats.lags)
    return (f"Input statistics: min value {stats.min:.3f}, max value {stats.max:.3f}, "
            f"median value {stats.median:.3f}, the trend of input is "
            f"{'upward' if stats.trend > 0 else 'downward'}, top {len(stats.lags)} lags are: "
            f"[{lags}], dominant frequency {stats.dominant_hz * 60:.1f} bpm")
