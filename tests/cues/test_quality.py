"""Which wave to trust (physllm/cues/quality.py): per-clip quality features, the per-video fallback."""

import numpy as np
import torch

from physllm import pulse
from physllm.cues.chrominance import chrominance_wave
from physllm.cues.quality import (INPUTS_LIT, LIT_RATIO, TONE_SHARE, band_peak, gate_inputs, lit_ratio, lit_ratios,
                                  quality_features, Reading, read_wave, room_tones,
                                  trusted_input, video_gate)

FPS = 30.0


def tone(hz: float, frames: int, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(frames) / FPS + phase)


def noise(frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(frames)


BLOOD = np.array([0.33, 0.77, 0.53])  # the pulse's relative change per channel (POS's skin-tone direction)


def skin(pulse_hz: float, frames: int, light: np.ndarray | None = None, noisy: float = 0.0) -> np.ndarray:
    """(T, 3) mean skin colour: a 1% pulse at `pulse_hz` under `light` (T,), a white gain, plus noise."""
    light = np.ones(frames) if light is None else light
    rgb = 120 * light[:, None] * (1 + 0.01 * tone(pulse_hz, frames)[:, None] * BLOOD)
    return rgb + noisy * np.random.default_rng(1).standard_normal((frames, 3))


def flicker(hz: float, frames: int, depth: float = 0.02) -> np.ndarray:
    return 1 + depth * tone(hz, frames)


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
    assert trusted_input({"physnet": clean, "chroma": weak}, {}, 6.0)[0] == "physnet"
    assert trusted_input({"physnet": weak, "chroma": clean}, {}, 6.0)[0] == "chroma"


def test_the_gate_keeps_physllm_near_the_trusted_input_and_replaces_it_far_from_it():
    frames = 900
    truth = np.diff(tone(1.2, frames + 1))  # 72 bpm
    wrong = np.diff(tone(1.6, frames + 1))  # 96 bpm
    near = np.diff(tone(1.25, frames + 1))  # 75 bpm
    weak_skin = skin(1.5, frames, noisy=3.0)  # its chrominance wave: a buried pulse at 90 bpm
    inputs = gate_inputs(truth, weak_skin, None, FPS)
    wave, kept = video_gate(wrong, inputs, FPS, tolerance_bpm=6.0)
    assert kept == "physnet" and np.array_equal(wave, truth)
    assert video_gate(near, inputs, FPS, 6.0)[1] == "physllm"
    weak = np.diff(tone(1.5, frames + 1) + 3 * noise(frames + 1))
    surer_chroma = gate_inputs(weak, skin(1.2, frames), None, FPS)
    assert video_gate(wrong, surer_chroma, FPS, 6.0)[1] == "chroma"  # the other input is the surer
    assert video_gate(wrong, inputs, FPS, None) == (wrong, "physllm")  # None: never
    assert abs(read_wave(video_gate(wrong, inputs, FPS, 0.0)[0], FPS, diff=True).hr_bpm - 72) < 1
    assert abs(pulse.hr_fft(pulse.to_pulse(truth, FPS, diff=True), FPS) - 72) < 1


def test_the_lit_ratio_tells_the_light_from_the_pulse():
    frames = 900
    light = flicker(1.6, frames)  # a lamp at 96 bpm on the face and on the room; the pulse at 72
    face, room = skin(1.2, frames, light), 80 * light[:, None] * np.ones(3)
    assert lit_ratio(96, face, room, FPS) > 0.9  # the room changes as much as the skin
    assert lit_ratio(72, face, room, FPS) < 0.1  # the pulse is in the skin only
    assert lit_ratios([96, 72], face, room, FPS) == [lit_ratio(96, face, room, FPS), lit_ratio(72, face, room, FPS)]
    assert np.isnan(lit_ratio(72, face, None, FPS))  # nothing outside the face to read
    unseen = room.copy()
    unseen[: frames // 2 + 1] = np.nan  # a close-up for more than half the video
    assert np.isnan(lit_ratio(96, face, unseen, FPS))
    unseen[: frames // 2 + 1] = room[: frames // 2 + 1]
    unseen[:100] = np.nan  # a few frames without background are filled, not fatal
    assert lit_ratio(96, face, unseen, FPS) > 0.8


def wandering(frames: int, depth: float = 0.04, seed: int = 3) -> np.ndarray:
    """(T,) a light that wanders across the pulse band (band-passed noise, `depth` standard deviation)."""
    x = pulse.bandpass(noise(frames, seed), FPS, 0.7, 3.0)
    return 1 + depth * x / x.std()


def test_the_room_tone_tells_a_flickering_lamp_from_a_wandering_light():
    frames = 900
    lamp = 80 * flicker(1.6, frames)[:, None] * np.ones(3)
    wander = 80 * wandering(frames)[:, None] * np.ones(3)
    assert room_tones([96], lamp, FPS)[0] > 0.9  # the lamp's rate holds nearly all of the room's change
    assert room_tones([72], lamp, FPS)[0] < 0.05
    assert all(share < TONE_SHARE for share in room_tones([60, 96, 130], wander, FPS))
    assert np.isnan(room_tones([96], None, FPS)[0])


def test_physnet_reading_the_light_is_not_trusted_whatever_its_snr():
    frames = 900
    lamp = read_wave(np.diff(tone(1.6, frames + 1)), FPS, diff=True)  # a clean tone at 96 bpm
    weak = read_wave(np.diff(tone(1.2, frames + 1) + 3 * noise(frames + 1)), FPS, diff=True)  # a pulse at 72
    readings = {"physnet": lamp, "chroma": weak}
    assert trusted_input(readings, {}, 6.0)[0] == "physnet"  # the SNR alone
    assert trusted_input(readings, {"physnet": 0.95, "chroma": 0.1}, 6.0)[0] == "chroma"
    assert trusted_input(readings, {"physnet": LIT_RATIO, "chroma": 0.1}, 6.0)[0] == "chroma"
    # the light across the band (a wandering lamp): the chrominance wave's rate is lit as well
    assert trusted_input(readings, {"physnet": 0.95, "chroma": 1.7}, 6.0)[0] == "chroma"
    assert trusted_input(readings, {"physnet": float("nan"), "chroma": 0.1}, 6.0)[0] == "physnet"  # no room
    # the chrominance wave's rate lit, PhysNet's not: a shaken camera moves the room at every rate, a
    # right reading is lit too; the SNR decides
    assert trusted_input({"physnet": weak, "chroma": lamp}, {"physnet": 0.3, "chroma": 0.9}, 6.0)[0] == "chroma"
    # both read one rate: no verdict (the gate's `one_light`), the SNR decides
    together = {"physnet": lamp, "chroma": read_wave(np.diff(tone(1.62, frames + 1)), FPS, diff=True)}
    assert trusted_input(together, {"physnet": 0.95, "chroma": 0.1}, 6.0)[0] == "physnet"
    assert trusted_input(together, {"physnet": 0.95, "chroma": 0.1}, 0.0)[0] == "chroma"  # apart by 0 bpm


def test_chrom_reading_physnets_lit_rate_overrules_the_light():
    """PhysNet's rate lit, the chrominance wave reading another: the light trusts the chrominance
    wave, unless CHROM reads PhysNet's rate too (then the SNR decides)."""
    readings = {"physnet": Reading(60.0, -1.0), "chroma": Reading(100.0, -3.0)}  # PhysNet surer by 2 dB
    lit = {"physnet": 0.9, "chroma": 0.9}
    assert trusted_input(readings, lit, 3.0) == ("chroma", float("inf"))
    assert trusted_input(readings, lit, 3.0, chrom_bpm=61.0) == ("physnet", 2.0)
    assert trusted_input(readings, lit, 3.0, chrom_bpm=100.5) == ("chroma", float("inf"))  # CHROM reads POS's
    assert trusted_input(readings, lit, 3.0, chrom_bpm=80.0) == ("chroma", float("inf"))  # neither rate
    surer_pos = {"physnet": Reading(60.0, -3.0), "chroma": Reading(100.0, -1.0)}
    assert trusted_input(surer_pos, lit, 3.0, chrom_bpm=61.0) == ("chroma", 2.0)  # no verdict: the SNR
    close = {"physnet": Reading(60.0, -1.0), "chroma": Reading(64.0, -3.0)}  # CHROM between: reads both
    assert trusted_input(close, lit, 3.0, chrom_bpm=62.0) == ("chroma", float("inf"))


def test_the_gate_reads_chrom_of_the_skin():
    frames = 900
    inputs = gate_inputs(np.diff(tone(1.6, frames + 1)), skin(1.2, frames, noisy=0.3), None, FPS)
    assert abs(inputs.chrom_bpm - 72) < 1  # CHROM of the same skin reads its pulse
    short = gate_inputs(np.diff(tone(1.6, 41)), skin(1.2, 40), None, FPS)  # 1.3 s: shorter than CHROM's window
    assert np.isnan(short.chrom_bpm) and short.trusted(6.0)[0] in ("physnet", "chroma")
    assert inputs.trusted(6.0) == trusted_input(inputs.readings, inputs.lit, 6.0, inputs.chrom_bpm)


def test_the_gate_falls_back_from_a_flicker_to_the_chrominance_wave():
    """PhysNet and PhysLLM read a lamp's flicker, a cleaner tone than the pulse: SNR alone would
    trust them; the room flickers as much as the face, so the chrominance wave is trusted."""
    frames = 900
    light = flicker(1.6, frames, depth=0.05)  # white light: POS's projection cancels it
    face, room = skin(1.2, frames, light, noisy=0.3), 80 * light[:, None] * np.ones(3)
    lamp = np.diff(tone(1.6, frames + 1))
    no_room = gate_inputs(lamp, face, None, FPS)
    assert video_gate(lamp, no_room, FPS, 6.0)[1] == "physllm"  # no room to read: SNR trusts PhysNet
    wave, kept = video_gate(lamp, gate_inputs(lamp, face, room, FPS), FPS, 6.0)
    assert kept == "chroma"
    assert abs(read_wave(wave, FPS, diff=True).hr_bpm - 72) < 1


def test_where_both_inputs_read_one_light_a_third_reading_stands():
    """A lamp at 96 bpm whose colour lies along the blood's, so that PhysNet and the chrominance
    wave both read it; the room shows it. PhysLLM's reading (72), far from either, is kept; a PhysLLM
    that follows the lamp stands with the inputs."""
    frames = 900
    light = 1 + 0.05 * tone(1.6, frames)[:, None] * BLOOD  # along the blood's colour: POS cannot tell it apart
    face, room = skin(1.2, frames) * light, 80 * light
    assert abs(read_wave(chrominance_wave(face, FPS), FPS, diff=True).hr_bpm - 96) < 1
    lamp, own = np.diff(tone(1.6, frames + 1)), np.diff(tone(1.2, frames + 1))
    inputs = gate_inputs(lamp, face, room, FPS)
    assert inputs.one_light(6.0)
    assert video_gate(own, gate_inputs(lamp, face, None, FPS), FPS, 6.0)[1] != "physllm"  # no room: it falls back
    assert video_gate(own, inputs, FPS, 6.0) == (own, INPUTS_LIT)
    assert video_gate(lamp, inputs, FPS, 6.0) == (lamp, "physllm")

    # a light wandering across the band: both inputs read the pulse and the room carries it as
    # strongly as the skin, but as no tone; PhysLLM reading neither falls back
    light = wandering(frames, depth=0.2)  # white: POS's projection cancels it
    face, room = skin(1.2, frames, light), 80 * light[:, None] * np.ones(3)
    pulse_wave, off = np.diff(tone(1.2, frames + 1)), np.diff(tone(1.8, frames + 1))
    inputs = gate_inputs(pulse_wave, face, room, FPS)
    assert abs(inputs.readings["chroma"].hr_bpm - 72) < 1 and min(inputs.lit.values()) >= LIT_RATIO
    assert not inputs.one_light(6.0)
    assert video_gate(off, inputs, FPS, 6.0)[1] in ("physnet", "chroma")


def test_where_the_inputs_read_different_lights_the_chrominance_wave_is_trusted():
    """A lamp at 96 bpm that PhysNet reads, white balance hunting at 60 that the chrominance wave
    reads, the room showing both: the light moves, and POS's projection is the one made to cancel
    it; a PhysLLM reading neither input falls back to the chrominance wave."""
    frames = 900
    hunting = 1 + 0.03 * tone(1.0, frames)[:, None] * BLOOD
    light = flicker(1.6, frames, depth=0.05)[:, None] * hunting
    face, room = skin(1.2, frames) * light, 80 * light
    assert abs(read_wave(chrominance_wave(face, FPS), FPS, diff=True).hr_bpm - 60) < 1
    lamp, own = np.diff(tone(1.6, frames + 1)), np.diff(tone(1.2, frames + 1))
    inputs = gate_inputs(lamp, face, room, FPS)
    assert min(inputs.lit.values()) >= LIT_RATIO and not inputs.one_light(6.0)
    assert inputs.trusted(6.0) == ("chroma", float("inf"))
    assert video_gate(own, inputs, FPS, 6.0)[1] == "chroma"
    follows_the_chrominance = np.diff(tone(1.0, frames + 1))
    assert video_gate(follows_the_chrominance, inputs, FPS, 6.0)[1] == "physllm"


def test_where_the_inputs_are_about_as_sure_physllm_breaks_the_tie_within_the_margin():
    """PhysNet at 96 bpm and the chrominance wave at 72, the two about as noisy: the trusted one is
    surer by a few dB. A PhysLLM reading the other stands within the margin; one reading neither
    falls back whatever the margin; the light's verdict is never overruled."""
    frames = 900
    physnet = np.diff(tone(1.6, frames + 1) + 1.5 * noise(frames + 1, seed=2))
    inputs = gate_inputs(physnet, skin(1.2, frames, noisy=0.6), None, FPS)
    neither = np.diff(tone(2.0, frames + 1))
    trusted, surer_db = inputs.trusted(6.0)
    assert 0 < surer_db < 6  # an SNR difference of a few dB, either way
    other = {"physnet": "chroma", "chroma": "physnet"}[trusted]
    follows_other = np.diff(tone({"physnet": 1.2, "chroma": 1.6}[trusted], frames + 1))
    assert video_gate(follows_other, inputs, FPS, 6.0)[1] == trusted  # no margin: the trusted input
    assert video_gate(follows_other, inputs, FPS, 6.0, margin_db=6.0) == (follows_other, "physllm")
    assert video_gate(neither, inputs, FPS, 6.0, margin_db=6.0)[1] == trusted
    assert abs(read_wave(inputs.waves[other], FPS, diff=True).hr_bpm - 60 * {"physnet": 1.6, "chroma": 1.2}[other]) < 1

    light = flicker(1.6, frames, depth=0.05)  # the room flickers with PhysNet's rate: the light decides
    lamp = np.diff(tone(1.6, frames + 1))
    lit = gate_inputs(lamp, skin(1.2, frames, light, noisy=0.3), 80 * light[:, None] * np.ones(3), FPS)
    assert lit.trusted(6.0) == ("chroma", float("inf"))
    assert video_gate(lamp, lit, FPS, 6.0, margin_db=6.0)[1] == "chroma"
