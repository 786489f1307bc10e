"""The chrominance wave PhysLLM reads beside PhysNet's (physllm/cues/chrominance.py)."""

import numpy as np

from physllm import pulse
from physllm.cues.chrominance import chrominance_wave


def test_the_chrominance_wave_reads_the_pulse_in_the_skin_colour():
    fps, t = 30.0, np.arange(128) / 30.0
    ppg = np.sin(2 * np.pi * 1.2 * t)
    skin = np.array([180.0, 120.0, 100.0]) * (1 + 0.002 * ppg[:, None] * np.array([0.3, 1.0, 0.6]))
    rgb = skin * (1 + 0.05 * t[:, None] / t[-1])  # a slow brightening, which POS removes
    chroma = chrominance_wave(rgb, fps)
    assert chroma.shape == (128,) and chroma.dtype == np.float32
    label = pulse.diff_normalize_label(ppg)  # the training target's domain, read the same way
    # within a fifth of a 4.3-s clip's 14-bpm FFT bin (POS's band-pass bends the clip's ends)
    assert abs(pulse.hr_fft(chroma, fps) - pulse.hr_fft(label, fps)) < 3.0
    assert np.corrcoef(chroma, label)[0, 1] > 0.8
