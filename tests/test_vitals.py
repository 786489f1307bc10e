"""Vitals: HRV and breathing read from synthetic PPG whose beat times and breathing rate are known."""

import copy

import numpy as np
import pytest

from physllm import vitals
from physllm.render.ppg import SYSTOLIC, draw_pulse_params, heart_rate_curve, synthesize_ppg

FPS = 30.0
SEEDS = range(12)


def known_subject(seed, seconds=30.0):
    """A synthetic PPG, its breathing rate (breaths/min) and its true systolic-peak times.

    The generator's phase is rebuilt from a copy of its random state: the same heart-rate curve
    (checked), then the same phase offset; beat k peaks where the phase crosses k + SYSTOLIC's centre.
    """
    rng = np.random.default_rng(seed)
    params = draw_pulse_params(rng, (45.0, 150.0))
    twin = copy.deepcopy(rng)
    trace = synthesize_ppg(params, seconds, FPS, rng)
    hr = heart_rate_curve(params, trace.times_s, twin)
    assert np.allclose(hr, trace.hr_bpm), "the generator changed: rebuild its phase here"
    phase = np.cumsum(hr / 60.0) / FPS + twin.uniform()
    centre = SYSTOLIC[1]
    beats = np.arange(np.ceil(phase[0] - centre), np.floor(phase[-1] - centre) + 1) + centre
    return trace.ppg, params.resp_hz * 60.0, np.interp(beats, phase, trace.times_s)


def true_hrv(beat_times):
    ibis = np.diff(beat_times) * 1000.0
    successive = np.diff(ibis)
    return ibis.std(ddof=1), np.sqrt(np.mean(successive**2)), 100.0 * np.mean(np.abs(successive) > 50.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_hrv_matches_the_known_beats(seed):
    ppg, _, beats = known_subject(seed)
    sdnn, rmssd, pnn50 = true_hrv(beats)
    got = vitals.vitals(ppg, FPS)
    assert got.hrv_flag == "ok"
    assert got.sdnn_ms == pytest.approx(sdnn, abs=2.0)
    assert got.rmssd_ms == pytest.approx(rmssd, abs=5.0)
    assert got.pnn50 == pytest.approx(pnn50, abs=10.0)
    assert got.hr_bpm == pytest.approx(60.0 / np.diff(beats).mean(), abs=1.0)


def test_beats_are_found_to_a_few_milliseconds():
    ppg, _, beats = known_subject(3)
    found = vitals.beat_times(vitals.beat_band(ppg, FPS), FPS)
    nearest = np.abs(found[:, None] - beats[None, :]).min(axis=1)
    inside = (found > beats[0] - 0.2) & (found < beats[-1] + 0.2)
    assert np.median(nearest[inside]) < 0.01  # the parabola beats the 33 ms frame grid
    assert inside.sum() == beats.size


def test_breathing_rate_matches_the_generator():
    results = [(vitals.vitals(ppg, FPS), rate) for ppg, rate, _ in map(known_subject, SEEDS)]
    read = [(v.breathing_rpm, rate) for v, rate in results if v.breathing_flag == "ok"]
    assert len(read) >= 0.8 * len(results), "most clean 30-s subjects give a breathing rate"
    errors = np.abs(np.subtract(*zip(*read)))
    assert np.median(errors) < 0.5 and errors.max() < 2.0  # breaths per minute
    assert {v.breathing_flag for v, _ in results} <= {"ok", "disagree"}


def test_an_ectopic_beat_is_rejected_not_counted():
    times = np.cumsum(np.full(40, 0.8))
    times[20] -= 0.3  # premature beat: a short then a long interval
    ibis, kept = vitals.clean_intervals(times)
    assert not kept[19] and not kept[20] and kept.sum() == ibis.size - 2
    sdnn, rmssd, _ = vitals.hrv(ibis, kept)
    assert sdnn == pytest.approx(0.0, abs=1e-6) and rmssd == pytest.approx(0.0, abs=1e-6)


def test_refuses_a_signal_too_short():
    ppg, _, _ = known_subject(0, seconds=8.0)
    got = vitals.vitals(ppg, FPS)
    assert (got.hrv_flag, got.breathing_flag) == ("too_short", "too_short")
    assert got.sdnn_ms is None and got.breathing_rpm is None


def test_hrv_without_breathing_on_a_short_window():
    ppg, _, _ = known_subject(0, seconds=12.0)
    got = vitals.vitals(ppg, FPS)
    assert got.hrv_flag == "ok" and got.breathing_flag == "too_short" and got.breathing_rpm is None


def test_refuses_noise():
    noise = np.random.default_rng(0).standard_normal(int(30 * FPS))
    got = vitals.vitals(noise, FPS)
    assert got.hrv_flag in {"low_snr", "irregular"} and got.rmssd_ms is None and got.breathing_rpm is None


def test_hrv_refused_on_noisy_beats_while_hr_and_breathing_are_still_read():
    ppg, rate, beats = known_subject(3, seconds=60.0)
    noisy = ppg + 0.2 * np.ptp(ppg) * np.random.default_rng(3).standard_normal(ppg.size)
    got = vitals.vitals(noisy, FPS)
    assert got.hrv_flag == "noisy_beats" and got.template_r < vitals.VitalsConfig().min_template_r
    assert got.sdnn_ms is None and got.rmssd_ms is None and got.pnn50 is None
    assert got.hr_bpm == pytest.approx(60.0 / np.diff(beats).mean(), abs=2.0)
    assert got.breathing_flag == "ok" and got.breathing_rpm == pytest.approx(rate, abs=1.0)


def test_refuses_a_pulse_buried_in_noise():
    ppg, _, _ = known_subject(1)
    noisy = ppg + 2.0 * np.ptp(ppg) * np.random.default_rng(1).standard_normal(ppg.size)
    assert vitals.vitals(noisy, FPS).hrv_flag != "ok"


def test_pulse_domain_integrates_diff_outputs():
    ppg, _, _ = known_subject(2)
    diff = np.diff(ppg, prepend=ppg[0])
    assert np.allclose(vitals.pulse_domain(diff, diff=True), ppg - ppg[0])
    assert np.array_equal(vitals.pulse_domain(ppg, diff=False), ppg)
