"""Reading a video's pulse: the whole video and sliding windows, each with its heart rate, signal
quality and confidence, and the vitals of the reliable ones (`physllm predict`).

- the whole video: HR at the zero-padded periodogram's interpolated peak (`pulse.hr_fft`) and
  from inter-beat intervals (`pulse.hr_peaks`);
- sliding windows (10 s, step 1 s by default; one window as long as the video when it is
  shorter): the same two HRs, the SNR of the spectral peak (de Haan 2013, `pulse.snr_db`) as the
  signal-quality index, and a confidence in [0, 1];
- vitals (`physllm.vitals`): HRV (SDNN, RMSSD, pNN50) per reliable window and for a reliable
  video, breathing rate for the video, each with its own flag, read on the wave before the HR
  band-pass.

Each number carries its confidence and a flag: `reliable` is false for too little face or a
confidence under `min_confidence`. The confidence is σ((SNR − centre) / scale) with the method's
own centre and scale, a logistic fitted by bench/reliability.py to P(HR within 3 bpm) on rendered
and real videos (docs/BENCHMARKS.md, "Confidence, per method").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from physllm import pulse, vitals


@dataclass(frozen=True)
class WindowConfig:
    """How a pulse is read out: the windows, the SNR → confidence mapping, what counts as reliable."""

    window_s: float = 10.0  # rPPG-Toolbox's EVALUATION_WINDOW and the common HR-track window…
    step_s: float = 1.0  # …every second
    # SNR → confidence: σ((SNR − centre) / scale), an estimate of P(HR within 3 bpm); a window is
    # reliable from `min_confidence` up. Centre and scale are the method's (next setting) unless given.
    snr_centre_db: float | None = None  # one centre (dB) for every method
    confidence_scale_db: float | None = None  # one scale (dB) for every method
    # (centre, scale) per method: bench/reliability.py's logistic fit on 10-s windows of 8 renders of
    # each renderer and the two real 12-s clips, the three sources weighted equally (docs/BENCHMARKS.md
    # "Confidence"; PhysLLM: the demo's checkpoint with the released UBFC-rPPG PhysNet); GREEN,
    # unmeasured, keeps the earlier (0, 3), as any method not listed
    confidence_by_method_db: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "pos": (-5.0, 5.2), "chrom": (-4.0, 2.9), "physnet": (-1.7, 8.1), "green": (0.0, 3.0),
        "physllm": (-11.2, 11.0)})
    min_confidence: float = 0.5
    min_face_fraction: float = 0.5  # a window needs the region in at least half of its detections
    batch_clips: int = 8  # clips per model batch (the authors' batch size)
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"window_s": "> 0", "step_s": "> 0", "min_face_fraction": "[0, 1]",
              "confidence_scale_db": "> 0", "batch_clips": ">= 1", "min_confidence": "[0, 1]"}

    def for_method(self, method: str) -> WindowConfig:
        """These settings with the SNR → confidence mapping set: what was given, else `method`'s."""
        centre, scale = self.confidence_by_method_db.get(method, (0.0, 3.0))
        return replace(self, snr_centre_db=centre if self.snr_centre_db is None else self.snr_centre_db,
                       confidence_scale_db=scale if self.confidence_scale_db is None else self.confidence_scale_db)


@dataclass(frozen=True)
class WindowEstimate:
    start_s: float
    end_s: float
    hr_bpm: float  # FFT peak, always given; trust it by `reliable`
    hr_peaks_bpm: float  # 60 / mean inter-beat interval (nan with fewer than two beats)
    snr_db: float  # signal-quality index: power at the peak and its harmonic vs the rest of the band
    confidence: float  # in [0, 1]; 0 for a window without a face
    face_fraction: float
    reliable: bool
    flag: str  # "ok" | "no_face" | "low_confidence"
    sdnn_ms: float | None = None  # HRV of the window (physllm.vitals); None unless hrv_flag is "ok"
    rmssd_ms: float | None = None
    pnn50: float | None = None
    hrv_flag: str = "not_read"  # the window's own flag when it is not "ok", else vitals' flag



def window_spans(num_frames: int, fps: float, window_s: float, step_s: float) -> list[tuple[int, int]]:
    """(start, stop) frames of every window, the last one flush with the video's end; one window
    of the whole video when it is shorter than `window_s`."""
    window, step = int(round(window_s * fps)), max(1, int(round(step_s * fps)))
    if num_frames <= window:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - window + 1, step))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return [(s, s + window) for s in starts]


def confidence_of(snr_db: float, face_fraction: float, cfg: WindowConfig) -> float:
    if face_fraction < cfg.min_face_fraction or not math.isfinite(snr_db):
        return 0.0
    return float(1.0 / (1.0 + math.exp(-(snr_db - cfg.snr_centre_db) / cfg.confidence_scale_db)))


def estimate_window(pulse_wave: np.ndarray, face: np.ndarray, fps: float, start: int, stop: int,
                    cfg: WindowConfig, face_fraction: float | None = None) -> WindowEstimate:
    """HRs, SNR of the spectral peak, confidence and flag of one stretch of the pulse (its face
    share: `face_fraction`, else the mean of `face` over the stretch)."""
    segment = pulse_wave[start:stop]
    face_fraction = float(face[start:stop].mean()) if face_fraction is None else face_fraction
    hr = pulse.hr_fft(segment, fps)
    snr = pulse.snr_db(segment, fps, hr)
    confidence = confidence_of(snr, face_fraction, cfg)
    if face_fraction < cfg.min_face_fraction:
        flag = "no_face"
    elif confidence < cfg.min_confidence:
        flag = "low_confidence"
    else:
        flag = "ok"
    return WindowEstimate(start / fps, stop / fps, hr, pulse.hr_peaks(segment, fps), snr, confidence,
                          face_fraction, flag == "ok", flag)


def estimate_windows(pulse_wave: np.ndarray, face: np.ndarray, fps: float,
                     cfg: WindowConfig) -> list[WindowEstimate]:
    spans = window_spans(len(pulse_wave), fps, cfg.window_s, cfg.step_s)
    return [estimate_window(pulse_wave, face, fps, start, stop, cfg) for start, stop in spans]


def window_vitals(window: WindowEstimate, raw_pulse: np.ndarray, fps: float) -> WindowEstimate:
    """The window with its HRV; a window without a reliable HR gets its flag and no HRV."""
    if not window.reliable:
        return replace(window, hrv_flag=window.flag)
    start, stop = int(round(window.start_s * fps)), int(round(window.end_s * fps))
    read = vitals.vitals(raw_pulse[start:stop], fps)
    return replace(window, sdnn_ms=read.sdnn_ms, rmssd_ms=read.rmssd_ms, pnn50=read.pnn50, hrv_flag=read.hrv_flag)


def whole_video_vitals(raw_pulse: np.ndarray, face: np.ndarray, fps: float,
                       video: WindowEstimate) -> vitals.Vitals | None:
    """HRV and breathing over the frames with a face (where a faceless stretch is cut out, the
    interval across the cut is one IBI the outlier rule usually rejects); None unless the video's
    HR is reliable."""
    if not video.reliable:
        return None
    return vitals.vitals(raw_pulse[face > 0], fps)


def zero_faceless(pulse_wave: np.ndarray, face: np.ndarray) -> np.ndarray:
    """The pulse with zeros where no clip found the region (unless none did): a faceless stretch
    adds no power to any spectrum, so every HR is the FFT peak of this wave as written."""
    return np.where((face > 0) | ~np.any(face > 0), pulse_wave, 0.0)


def whole_video(pulse_wave: np.ndarray, face: np.ndarray, fps: float, cfg: WindowConfig) -> WindowEstimate:
    """The whole video read as one window; its face share is over the frames whose clip found the
    region (a faceless stretch is zeros in the pulse), 0 when none did: the number is still
    there, flagged no_face."""
    found = face[face > 0]
    return estimate_window(pulse_wave, face, fps, 0, len(pulse_wave), cfg,
                           face_fraction=float(found.mean()) if found.size else 0.0)

