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
  input's, or of the other input's where the trusted one's SNR is higher by less than `margin_db`
  (two inputs about as sure: PhysLLM's reading breaks the tie), and the trusted input's wave
  replaces it otherwise (train/gate.py calibrates both). A learned model's output is clean
  whether it is right or not, so its own SNR is no judge of it: the inputs' are. Measured on the two
  real vitallens clips (released UBFC-rPPG PhysNet vs POS, whole videos): the higher SNR picks
  the right reader on both (POS on clip 1, −1.9 vs −3.7 dB; PhysNet on clip 2, −0.4 vs −3.0 dB).
- Before the SNR, the light (`lit_ratio`: how strongly the background outside the face carries
  an input's rate, against the skin; a pulse is in the skin only, a change of the light or of the
  camera's gain in both). Two rules, each from what the two inputs are:
  1. Where PhysNet's rate is the light's (at least LIT_RATIO) and the chrominance wave reads another
     rate, the chrominance wave is trusted (`light_verdict`). PhysNet reads normalised frame
     differences, which a change of the light's intensity moves as a pulse does; POS projects the
     skin's colour change onto the plane orthogonal to the skin tone, which cancels it (Wang et al.
     2017, https://doi.org/10.1109/TBME.2016.2609282). SNR alone is fooled here: a flicker is a
     cleaner tone than a pulse. The verdict is withheld, and the SNR decides, where CHROM (de Haan &
     Jeanne 2013, `classic_methods.chrom` of the same skin) reads PhysNet's rate too: a right
     PhysNet reading is lit as well where the light wanders across the band (every rate is then in
     the background), and CHROM, whose per-window α cancels whichever change of the light dominates
     the window, intensity or colour, finds that rate in the skin's chrominance. It seconds PhysNet
     only, never POS: the two read one trace of the skin's colour and fail together (noise + JPEG on
     a real clip: both at 104.8 bpm, the truth 59.6). Measured (`bench/perturbed_real.py`, ten
     draws; docs/BENCHMARKS.md): it moves seven real videos, all under the PURE PhysNet (a light from
     one side in six draws, the lamp in one), each from POS's wrong rate to PhysNet's right one; on
     the renders it fires twice and the SNR keeps POS there. Where the chrominance wave's rate is
     lit and PhysNet's is not, the SNR decides: a right chrominance reading is lit too where the
     light wanders across the band or the camera moves (the background then changes at every rate).
  2. Where both inputs read one rate (within the tolerance) that the background carries as
     strongly as the skin and as a tone (`room_tones`: at least TONE_SHARE of the background's
     pulse-band change within ±0.2 Hz of it), that is a flickering light, not a pulse; a PhysLLM
     reading neither input stands (`INPUTS_LIT`; it reads some such videos where both inputs fail:
     docs/BENCHMARKS.md, "Accuracy"). A light that wanders across the band is no tone (0.15–0.4 at
     the inputs' rates on real faces under a wandering lamp), and two inputs agreeing under it
     mostly read the pulse; an aliased flicker is (0.66 on the render both inputs read 35 bpm off,
     1.0 for renderer 1's lamps), and TONE_SHARE, half the band's change, lies between.
  Measured (`bench/perturbed_real.py`: the two vitallens clips under eight light and camera
  changes, four draws of the changes, the demo's two checkpoints; docs/BENCHMARKS.md, "Real faces
  under light and camera changes"): the previous rules (the chrominance wave's lit rate made
  PhysNet trusted; both inputs lit, apart or not, let a PhysLLM reading neither stand) left
  PhysLLM above the better input on 5 of the 8 draw × checkpoint sets, these on 3 (by more than
  0.5 bpm on 4 and 2: draw 1, where a warm lamp defeats POS and spares PhysNet); mean of the draws
  6.25 → 4.75 bpm with the UBFC checkpoint, 4.10 → 4.34 with the PURE one. On the renders they
  change one test video, the released PURE PhysNet's demo subject 14 (16.93 → 14.61, POS 14.62).
  LIT_RATIO was chosen on renderer 1: PhysNet's wrong readings under a flickering lamp and light
  steps lie at 0.84–1.01, right readings and true rates at 0.03–0.78; the real clips' true rates at
  0.15–0.23.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from physllm import pulse
from physllm.classic_methods import chrom, chrom_window
from physllm.cues.chrominance import chrominance_wave

PEAK_HALF_WIDTH_HZ = 0.2  # a Hann-windowed 128-frame clip's main lobe at 30 fps is ±0.47 Hz
FFT_PAD = 8  # zero-padding factor: the peak is located to 0.03 Hz on a 128-frame clip
NUM_FEATURES = 4  # quality_features' columns
LIT_RATIO = 0.8  # a rate the background carries at ≥ 0.8 of the skin's amplitude is the light's (module doc)
TONE_SHARE = 0.5  # a rate holding ≥ half the room's pulse-band change is a light's tone (module doc)
INPUTS_LIT = "physllm, inputs lit"  # video_gate's label where both inputs read the light


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


def light_verdict(readings: dict[str, Reading], lit: dict[str, float], tolerance_bpm: float,
                  chrom_bpm: float = float("nan")) -> str | None:
    """'chroma' where PhysNet's rate is the light's (`lit_ratio` at least LIT_RATIO), the
    chrominance wave reads another rate (more than `tolerance_bpm` away) and CHROM (`chrom_bpm`)
    does not read PhysNet's, else None (module doc)."""
    lit_physnet = lit.get("physnet", np.nan) >= LIT_RATIO  # NaN: no verdict
    seconded = _reads(chrom_bpm, readings, tolerance_bpm) == "physnet"
    return "chroma" if lit_physnet and _apart(readings, tolerance_bpm) and not seconded else None


def trusted_input(readings: dict[str, Reading], lit: dict[str, float], tolerance_bpm: float,
                  chrom_bpm: float = float("nan")) -> tuple[str, float]:
    """The input trusted, 'physnet' or 'chroma', and how much surer it is than the other: the
    chrominance wave where the light decides (`light_verdict`; inf), else the input whose pulse has
    the higher SNR (PhysNet on a tie; their difference, dB)."""
    light = light_verdict(readings, lit, tolerance_bpm, chrom_bpm)
    if light is not None:
        return light, float("inf")
    snr = {name: _snr(reading) for name, reading in readings.items()}
    low, high = sorted(snr.values())
    return max(snr, key=snr.get), high - low  # dicts keep order: PhysNet first wins a tie


def _reads(hr_bpm: float, readings: dict[str, Reading], tolerance_bpm: float) -> str | None:
    """The one input whose rate `hr_bpm` lies within `tolerance_bpm` of; None if neither or both."""
    near = [name for name, reading in readings.items() if abs(hr_bpm - reading.hr_bpm) <= tolerance_bpm]
    return near[0] if len(near) == 1 else None


def _apart(readings: dict[str, Reading], tolerance_bpm: float) -> bool:
    """The two inputs read different rates (more than `tolerance_bpm` apart)."""
    return abs(readings["physnet"].hr_bpm - readings["chroma"].hr_bpm) > tolerance_bpm


def _snr(reading: Reading) -> float:
    return -np.inf if np.isnan(reading.snr_db) else reading.snr_db


@dataclass(frozen=True)
class GateInputs:
    """What the fallback reads of a video's two inputs (`gate_inputs`): each one's wave
    (DiffNormalized), its reading, the `lit_ratio` and `room_tones` at its rate, and CHROM's heart
    rate of the same skin. Computed once per video however many settings calibration tries on it."""

    waves: dict[str, np.ndarray]  # 'physnet', 'chroma'
    readings: dict[str, Reading]
    lit: dict[str, float]
    tone: dict[str, float]  # `room_tones` at each input's rate
    chrom_bpm: float  # CHROM's HR of the same skin: it may second PhysNet's lit rate (`light_verdict`)

    def trusted(self, tolerance_bpm: float) -> tuple[str, float]:
        """`trusted_input` of this video: the input trusted and how much surer it is (dB)."""
        return trusted_input(self.readings, self.lit, tolerance_bpm, self.chrom_bpm)

    def one_light(self, tolerance_bpm: float) -> bool:
        """Both inputs read one rate (within `tolerance_bpm`) that the background carries as
        strongly as the skin, as a tone: a flickering light's, not a pulse."""
        lit = all(ratio >= LIT_RATIO for ratio in self.lit.values())  # NaN: not lit
        tonal = all(share >= TONE_SHARE for share in self.tone.values())
        return lit and tonal and not _apart(self.readings, tolerance_bpm)


def gate_inputs(backbone: np.ndarray, skin_rgb: np.ndarray, background_rgb: np.ndarray | None,
                fps: float) -> GateInputs:
    """A video's inputs: PhysNet's wave (DiffNormalized, (T,)) and the chrominance wave of the
    skin's mean colour (T, 3); the background's mean colour (T, 3, or None) says which rates are the
    light's."""
    waves = {"physnet": np.asarray(backbone), "chroma": chrominance_wave(skin_rgb, fps)}
    readings = {name: read_wave(wave, fps, diff=True) for name, wave in waves.items()}
    rates = [r.hr_bpm for r in readings.values()]
    room = _room(background_rgb, fps)  # band-passed once for both measures
    lit = dict(zip(readings, _lit_ratios(rates, skin_rgb, room, fps)))
    tone = dict(zip(readings, _room_tones(rates, room, fps)))
    return GateInputs(waves, readings, lit, tone, _chrom_bpm(skin_rgb, fps))


def _chrom_bpm(skin_rgb: np.ndarray, fps: float) -> float:
    """CHROM's heart rate of the skin's mean colour; NaN for a video shorter than its window."""
    if len(skin_rgb) < chrom_window(fps):
        return float("nan")
    return read_wave(chrom(skin_rgb, fps), fps, diff=False).hr_bpm


def video_gate(physllm: np.ndarray, inputs: GateInputs, fps: float, tolerance_bpm: float | None,
               margin_db: float = 0.0) -> tuple[np.ndarray, str]:
    """PhysLLM's joined wave of a video (DiffNormalized, (T,)), or the trusted input's where their
    HRs differ by more than `tolerance_bpm`; None never falls back. PhysLLM's wave stands too where
    it reads the other input's rate and the trusted one is surer by less than `margin_db`
    (`GateInputs.trusted`: the SNRs' difference; the light is always sure): of two inputs about as
    sure, PhysLLM's reading is the tie-break. Where both inputs read one light
    (`GateInputs.one_light`) and PhysLLM reads neither, no input is a better answer and PhysLLM's
    wave stands. Returns the wave and which one it is: 'physllm', 'physnet', 'chroma', or 'physllm,
    inputs lit' (PhysLLM's, with no input to check it against)."""
    if tolerance_bpm is None:
        return physllm, "physllm"
    own = read_wave(physllm, fps, diff=True).hr_bpm
    near = {name: abs(own - reading.hr_bpm) <= tolerance_bpm for name, reading in inputs.readings.items()}
    trusted, surer_db = inputs.trusted(tolerance_bpm)
    if near[trusted] or (any(near.values()) and surer_db < margin_db):
        return physllm, "physllm"
    if inputs.one_light(tolerance_bpm) and not any(near.values()):
        return physllm, INPUTS_LIT
    return np.asarray(inputs.waves[trusted], dtype=np.asarray(physllm).dtype), trusted


def lit_ratio(hr_bpm: float, skin_rgb: np.ndarray, background_rgb: np.ndarray | None, fps: float) -> float:
    """How much of the skin's colour change at `hr_bpm` the background carries too: the relative
    amplitude of the frames' mean colour outside the face at that rate over the skin's (both
    (T, 3), each channel divided by its mean, band-passed, one Hann-windowed Fourier coefficient).

    A change of the light or of the camera's gain and white balance scales skin and background
    alike (ratio ≈ 1); a pulse is in the skin only (ratio ≈ the share of skin seen outside the
    box). NaN where there is no background to read (fewer than half its frames)."""
    return lit_ratios([hr_bpm], skin_rgb, background_rgb, fps)[0]


def lit_ratios(hrs_bpm: list[float], skin_rgb: np.ndarray, background_rgb: np.ndarray | None,
               fps: float) -> list[float]:
    """`lit_ratio` at each of several rates, the traces band-passed once."""
    return _lit_ratios(hrs_bpm, skin_rgb, _room(background_rgb, fps), fps)


def _lit_ratios(hrs_bpm: list[float], skin_rgb: np.ndarray, room: np.ndarray | None, fps: float) -> list[float]:
    """`lit_ratios` against a background already read (`_room`)."""
    if room is None:
        return [float("nan")] * len(hrs_bpm)
    skin = _pulsing(skin_rgb, fps)
    return [float(_amplitude_at(hr / 60, room, fps) / max(_amplitude_at(hr / 60, skin, fps), 1e-12))
            for hr in hrs_bpm]


def room_tones(hrs_bpm: list[float], background_rgb: np.ndarray | None, fps: float) -> list[float]:
    """At each rate, the share of the background's pulse-band power within ±PEAK_HALF_WIDTH_HZ of
    it (channels summed, Hann window): ≈1 for a flickering lamp's tone, ≈0.25 for a light that
    wanders across the band or a camera that moves. NaN without a background (`lit_ratios`)."""
    return _room_tones(hrs_bpm, _room(background_rgb, fps), fps)


def _room_tones(hrs_bpm: list[float], room: np.ndarray | None, fps: float) -> list[float]:
    """`room_tones` of a background already read (`_room`)."""
    if room is None:
        return [float("nan")] * len(hrs_bpm)
    n = FFT_PAD * len(room)
    power = (np.abs(np.fft.rfft(room * np.hanning(len(room))[:, None], n=n, axis=0)) ** 2).sum(axis=1)
    freqs = np.fft.rfftfreq(n, 1 / fps)
    band = (freqs >= pulse.LOW_HZ) & (freqs <= pulse.HIGH_HZ)
    total = max(power[band].sum(), 1e-30)
    return [float(power[band & (np.abs(freqs - hr / 60) <= PEAK_HALF_WIDTH_HZ)].sum() / total) for hr in hrs_bpm]


def _room(background_rgb: np.ndarray | None, fps: float) -> np.ndarray | None:
    """The background's mean colour (T, 3) `_pulsing`, its few missing frames filled; None where
    there is none or it is missing in more than half the frames."""
    if background_rgb is None:
        return None
    background = np.asarray(background_rgb, dtype=np.float64)
    seen = np.isfinite(background).all(axis=1)
    if seen.sum() < len(background) / 2:
        return None
    return _pulsing(np.where(seen[:, None], background, background[seen].mean(axis=0)), fps)


def _pulsing(rgb: np.ndarray, fps: float) -> np.ndarray:
    """(T, 3) → each channel's relative change (divided by its mean), band-passed to the pulse band."""
    rgb = np.asarray(rgb, dtype=np.float64)
    relative = rgb / np.maximum(rgb.mean(axis=0), 1e-6) - 1
    return np.column_stack([pulse.bandpass(channel, fps) for channel in relative.T])


def _amplitude_at(freq_hz: float, pulsing: np.ndarray, fps: float) -> float:
    """The norm over channels of a band-passed trace's (T, 3) Fourier coefficient at `freq_hz`."""
    t = np.arange(len(pulsing)) / fps
    weights = np.hanning(len(pulsing)) * np.exp(-2j * np.pi * freq_hz * t)
    return float(np.linalg.norm(weights @ pulsing))
