"""Vitals beyond the mean heart rate, read from a pulse waveform: HRV and breathing rate.

- Beats: systolic peaks of the band-passed wave, at least 60% of the FFT heart rate's period
  apart (a dicrotic wave is no beat), each refined to sub-sample time by a parabola through its
  three samples (a 30 fps camera samples every 33 ms; RMSSD is a few tens of ms).
- Inter-beat intervals (IBIs) and their outlier rejection: an IBI outside 0.33–1.5 s (40–180
  bpm) or more than 20% from the median of its 5 neighbours is rejected (the 20% rule of Kamath
  & Fallen, as Task Force of the ESC/NASPE, "Heart rate variability", Circulation 1996,
  recommends editing ectopic and missed beats). Successive differences are taken only between
  two kept neighbours.
- Beat quality for HRV: the mean correlation of each band-passed beat with the average beat,
  the template-matching index of Orphanidou et al. ("Signal-quality indices for the
  electrocardiogram and photoplethysmogram", IEEE JBHI 2015), who accept a raw PPG from 0.86.
  Noise moves the peaks and RMSSD grows with it far sooner than HR does; `python
  bench/vitals.py` measures how fast on synthetic PPG, which is where this module's stricter
  0.98 comes from. Breathing, averaged over many beats, is not gated by it.
- HRV (Task Force 1996): SDNN = std of the kept IBIs, RMSSD = √mean of squared successive
  differences, pNN50 = % of successive differences > 50 ms.
- Breathing rate: the three respiratory modulations of the pulse (Charlton et al., "Breathing
  rate estimation from the ECG and PPG", Physiol. Meas. 2016): intensity (RIIV, the beat's
  mean level), amplitude (RIAV, peak − preceding trough) and frequency (RIFV, the IBIs), each
  resampled at 4 Hz and read at its periodogram peak in 0.1–0.7 Hz; fused as Karlen et al.'s
  "smart fusion" ("Multiparameter respiratory rate estimation from the photoplethysmogram",
  IEEE TBME 2013): their median (Karlen: the mean) when their standard deviation is under 4
  breaths/min, else refused.
  A modulation whose periodogram peaks at the band's edge (drift, ~0.1 Hz Mayer waves in the
  IBIs) is left out, and two must remain.

Each reading carries a flag; a number is given only where the flag is "ok". A leaf like
`pulse`: numpy and scipy only. scipy.signal does the work (peaks, filters, periodograms);
neurokit2 would add pandas, scikit-learn and matplotlib dependencies for the same few calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.interpolate
import scipy.signal

from physllm import pulse


@dataclass(frozen=True)
class VitalsConfig:
    min_hrv_s: float = 10.0  # ultra-short RMSSD from 10 s tracks 5-min RMSSD (Munoz et al., PLoS ONE 2015)
    min_ibis: int = 8  # fewer kept intervals give no spread to speak of
    max_rejected: float = 0.2  # more than a fifth of the beats edited: the rhythm is not being read
    min_snr_db: float = 0.0  # as `predict`: a spectral peak weaker than the rest of the band is no pulse
    ibi_range_s: tuple[float, float] = (60 / 180, 60 / 40)  # physiological IBIs: 40–180 bpm
    ibi_jump: float = 0.2  # Kamath & Fallen's 20% rule
    ibi_median_beats: int = 5  # neighbours of the local median the 20% is taken from
    min_peak_spacing: float = 0.6  # × the FFT heart rate's period: the dicrotic wave comes earlier
    beat_band_hz: tuple[float, float] = (0.7, 3.5)  # keeps the 2nd harmonic: sharper, truer peaks
    min_template_r: float = 0.98  # HRV only. bench/vitals.py: RMSSD off 5 ms at r 0.989, 14 at 0.981, 36 at 0.937
    min_breathing_s: float = 20.0  # at least 3 cycles at 9 breaths/min (Karlen 2013 used 32 s)
    breathing_band_hz: tuple[float, float] = (0.1, 0.7)  # 6–42 breaths/min
    resample_hz: float = 4.0  # the beat-by-beat series' uniform rate (Charlton 2016)
    max_fusion_sd_rpm: float = 4.0  # Karlen 2013's smart-fusion threshold
    min_modulations: int = 2  # of RIIV, RIAV, RIFV with a breathing peak: two agreeing are a reading


@dataclass(frozen=True)
class Vitals:
    """One stretch of pulse. Numbers are None unless their flag is "ok" (hr_bpm: unless beats were read)."""

    hr_bpm: float | None  # 60 / mean kept IBI
    sdnn_ms: float | None
    rmssd_ms: float | None
    pnn50: float | None  # percent
    hrv_flag: str  # ok | too_short | low_snr | too_few_beats | irregular | noisy_beats
    breathing_rpm: float | None  # breaths per minute
    breathing_flag: str  # ok | too_short | low_snr | too_few_beats | irregular | no_peak | disagree
    beats: int  # systolic peaks found
    rejected_ibis: int  # IBIs rejected as outliers
    template_r: float | None = None  # beats' mean correlation with the average beat
    snr_db: float | None = None  # of the beat-band wave at its FFT heart rate


# ---------------------------------------------------------------- beats and intervals


def beat_times(wave: np.ndarray, fps: float, cfg: VitalsConfig = VitalsConfig()) -> np.ndarray:
    """Systolic peak times (s) of a band-passed pulse, refined between samples."""
    x = np.asarray(wave, dtype=np.float64)
    period = 60.0 / pulse.hr_fft(x, fps)
    peaks, _ = scipy.signal.find_peaks(x, distance=max(1, int(cfg.min_peak_spacing * period * fps)))
    peaks = peaks[(peaks > 0) & (peaks < len(x) - 1)]
    left, centre, right = x[peaks - 1], x[peaks], x[peaks + 1]
    curvature = left - 2 * centre + right
    # vertex of the parabola through the three samples, within half a sample of the peak
    shift = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
    return (peaks + np.clip(shift, -0.5, 0.5)) / fps


def clean_intervals(times_s: np.ndarray, cfg: VitalsConfig = VitalsConfig()) -> tuple[np.ndarray, np.ndarray]:
    """IBIs (s) between consecutive beats and a mask of those kept by the outlier rules."""
    ibis = np.diff(times_s)
    if ibis.size == 0:
        return ibis, np.zeros(0, dtype=bool)
    low, high = cfg.ibi_range_s
    half = cfg.ibi_median_beats // 2
    padded = np.pad(ibis, half, mode="reflect" if ibis.size > half else "edge")  # an edge IBI meets its neighbours
    local_median = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)
    kept = (ibis >= low) & (ibis <= high) & (np.abs(ibis - local_median) <= cfg.ibi_jump * local_median)
    return ibis, kept


def template_correlation(wave: np.ndarray, fps: float, times_s: np.ndarray, ibis: np.ndarray) -> float:
    """Mean Pearson r of each beat (± half the median IBI around its peak) with the average beat."""
    half = int(round(0.5 * np.median(ibis) * fps))
    centres = np.round(times_s * fps).astype(int)
    centres = centres[(centres >= half) & (centres + half < len(wave))]
    if centres.size < 2 or half < 2:
        return float("nan")
    beats = np.stack([wave[c - half:c + half + 1] for c in centres])  # (beats, 2·half + 1)
    template = beats.mean(axis=0)
    return float(np.mean([np.corrcoef(beat, template)[0, 1] for beat in beats]))


def hrv(ibis: np.ndarray, kept: np.ndarray) -> tuple[float, float, float]:
    """SDNN (ms), RMSSD (ms) and pNN50 (%) of the kept IBIs; successive pairs both kept."""
    good = ibis[kept] * 1000.0
    pairs = kept[1:] & kept[:-1]
    successive = np.diff(ibis * 1000.0)[pairs]
    if good.size < 2 or successive.size == 0:
        return float("nan"), float("nan"), float("nan")
    return (float(good.std(ddof=1)), float(np.sqrt(np.mean(successive**2))),
            float(100.0 * np.mean(np.abs(successive) > 50.0)))


# ---------------------------------------------------------------- breathing


def respiratory_series(wide: np.ndarray, fps: float, times_s: np.ndarray, ibis: np.ndarray,
                       kept: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """RIIV, RIAV and RIFV as (times, values) per beat, from beats whose IBI before them was kept.

    Read on `wide` (the wave without the band-pass, so its breathing baseline survives): each
    beat's mean level and its peak minus the trough since the previous beat.
    """
    edges = np.round(times_s * fps).astype(int)
    level, amplitude = [], []
    for start, stop in zip(edges[:-1], edges[1:]):
        segment = wide[start:stop + 1]
        level.append(segment.mean())
        amplitude.append(wide[stop] - segment.min())
    t = times_s[1:][kept]
    return {"riiv": (t, np.asarray(level)[kept]), "riav": (t, np.asarray(amplitude)[kept]),
            "rifv": (t, ibis[kept])}


def dominant_rate_rpm(times_s: np.ndarray, values: np.ndarray, cfg: VitalsConfig) -> float:
    """Breaths per minute at the periodogram peak of one beat-by-beat series (spline-resampled)."""
    if times_s.size < 4:
        return float("nan")
    grid = np.arange(times_s[0], times_s[-1], 1.0 / cfg.resample_hz)
    series = scipy.signal.detrend(scipy.interpolate.CubicSpline(times_s, values)(grid))
    # zero-padded to 0.25 breaths/min steps: the peak's position, not a finer resolution
    nfft = max(pulse.next_power_of_two(grid.size), int(cfg.resample_hz * 60 / 0.25))
    freqs, power = scipy.signal.periodogram(series * np.hanning(series.size), fs=cfg.resample_hz, nfft=nfft)
    low, high = cfg.breathing_band_hz
    band = (freqs >= low) & (freqs <= high)
    peak = int(np.argmax(power[band]))
    if peak in (0, int(band.sum()) - 1):
        return float("nan")  # power rising past the band's edge (drift, Mayer waves): no breathing peak
    return float(freqs[band][peak] * 60.0)


def breathing_rate(wide: np.ndarray, fps: float, times_s: np.ndarray, ibis: np.ndarray, kept: np.ndarray,
                   cfg: VitalsConfig) -> tuple[float | None, str]:
    """Karlen's smart fusion of the modulations' rates: their median (ours; Karlen's mean lets one
    modulation near the band edge pull an agreeing pair by several breaths/min), or refused.

    A modulation whose spectrum has no peak inside the band is left out (ours: Karlen fuses all
    three); at least `min_modulations` must remain and agree.
    """
    series = respiratory_series(wide, fps, times_s, ibis, kept)
    rates = np.array([dominant_rate_rpm(t, v, cfg) for t, v in series.values()])
    rates = rates[np.isfinite(rates)]
    if rates.size < cfg.min_modulations:
        return None, "no_peak"
    if rates.std() >= cfg.max_fusion_sd_rpm:
        return None, "disagree"
    return float(np.median(rates)), "ok"


# ---------------------------------------------------------------- one stretch of pulse


def wide_band(raw: np.ndarray, fps: float, cfg: VitalsConfig = VitalsConfig()) -> np.ndarray:
    """The raw wave (integrated if DiffNormalized) with only its slow drift removed (< the
    breathing band's lower edge): what the breathing baseline and amplitude are read on."""
    b, a = scipy.signal.butter(2, cfg.breathing_band_hz[0] / 2 / (fps / 2), btype="highpass")
    return scipy.signal.filtfilt(b, a, scipy.signal.detrend(np.asarray(raw, dtype=np.float64)))


def beat_band(raw: np.ndarray, fps: float, cfg: VitalsConfig = VitalsConfig()) -> np.ndarray:
    low, high = cfg.beat_band_hz
    return pulse.bandpass(scipy.signal.detrend(np.asarray(raw, dtype=np.float64)), fps, low, min(high, 0.45 * fps),
                          order=2)


def vitals(raw: np.ndarray, fps: float, cfg: VitalsConfig = VitalsConfig()) -> Vitals:
    """HRV and breathing rate of one stretch of a pulse wave, each with its quality flag.

    `raw` is a PPG or an rPPG method's waveform in the pulse domain (a DiffNormalized output
    integrated first), not yet band-passed: breathing moves its baseline.
    """
    raw = np.asarray(raw, dtype=np.float64)
    seconds = raw.size / fps
    if seconds < cfg.min_hrv_s:
        return _refused("too_short", "too_short")
    beats_wave = beat_band(raw, fps, cfg)
    snr = pulse.snr_db(beats_wave, fps, pulse.hr_fft(beats_wave, fps))
    if not snr >= cfg.min_snr_db:
        return _refused("low_snr", "low_snr")
    times = beat_times(beats_wave, fps, cfg)
    ibis, kept = clean_intervals(times, cfg)
    rejected = int((~kept).sum())
    if kept.sum() < cfg.min_ibis:
        return _refused("too_few_beats", "too_few_beats", times.size, rejected)
    if rejected > cfg.max_rejected * ibis.size:
        return _refused("irregular", "irregular", times.size, rejected)
    template_r = template_correlation(beats_wave, fps, times, ibis)
    clean = template_r >= cfg.min_template_r
    sdnn, rmssd, pnn50 = hrv(ibis, kept) if clean else (None, None, None)
    if seconds < cfg.min_breathing_s:
        breathing, breathing_flag = None, "too_short"
    else:
        breathing, breathing_flag = breathing_rate(wide_band(raw, fps, cfg), fps, times, ibis, kept, cfg)
    return Vitals(hr_bpm=float(60.0 / ibis[kept].mean()), sdnn_ms=sdnn, rmssd_ms=rmssd, pnn50=pnn50,
                  hrv_flag="ok" if clean else "noisy_beats", breathing_rpm=breathing,
                  breathing_flag=breathing_flag, beats=int(times.size), rejected_ibis=rejected,
                  template_r=template_r, snr_db=snr)


def _refused(hrv_flag: str, breathing_flag: str, beats: int = 0, rejected: int = 0) -> Vitals:
    return Vitals(None, None, None, None, hrv_flag, None, breathing_flag, beats, rejected)


def pulse_domain(wave: np.ndarray, diff: bool) -> np.ndarray:
    """A method's output in the pulse domain: DiffNormalized outputs integrated (as `pulse.to_pulse`)."""
    wave = np.asarray(wave, dtype=np.float64)
    return np.cumsum(wave) if diff else wave
