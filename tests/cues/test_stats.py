import numpy as np
import pytest

from physllm.cues.stats import (compute_stats, compute_stats_batch, render_stats_text,
                                         top_lags)

FPS = 32.0
T = 128


def sine(period_frames: float, t: int = T, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(t) / period_frames + phase)


@pytest.mark.parametrize("period", [25, 32])
def test_sine_period_is_the_first_lag(period):
    assert compute_stats(sine(period), FPS).lags[0] == period


def test_dominant_frequency_of_a_sine():
    # 1.25 Hz at 32 fps lies on a periodogram bin (nfft 128 → 0.25 Hz steps)
    stats = compute_stats(sine(FPS / 1.25), FPS)
    assert stats.dominant_hz == pytest.approx(1.25)


def test_min_max_median_and_trend_are_exact():
    wave = np.array([3.0, -2.0, 7.0, 1.0, 4.0, 0.5, 2.0])
    stats = compute_stats(wave, FPS)
    assert (stats.min, stats.max, stats.median) == (-2.0, 7.0, 2.0)
    assert stats.trend == pytest.approx(np.sum(np.diff(wave)))
    assert compute_stats(np.linspace(0, 1, 50), FPS).trend > 0
    assert compute_stats(np.linspace(1, 0, 50), FPS).trend < 0


def test_lag_zero_and_its_main_lobe_are_excluded():
    lags = top_lags(sine(25)[None, :], top_k=5)[0]
    assert 0 not in lags and min(lags) > 6  # the smooth neighbours of lag 0 don't crowd out the period
    assert len(top_lags(np.zeros((1, 6)), top_k=5)[0]) == 5  # short waves still get k lags


def test_batch_matches_one_by_one():
    waves = np.stack([sine(20), sine(30, phase=1.0), np.linspace(-1, 1, T)])
    assert compute_stats_batch(waves, FPS) == [compute_stats(w, FPS) for w in waves]


def test_rendered_text_follows_time_llm_template():
    stats = compute_stats(sine(FPS / 1.25) + np.linspace(0, 1, T), FPS)
    text = render_stats_text(stats)
    assert text.startswith("Input statistics: min value ")
    assert "the trend of input is upward" in text
    assert f"top 5 lags are: [{', '.join(map(str, stats.lags))}]" in text
    assert "dominant frequency 75.0 bpm" in text
    assert "downward" in render_stats_text(compute_stats(np.linspace(1, 0, T), FPS))


def test_columns_for_a_shard_row():
    stats = compute_stats(sine(25), FPS)
    row = stats.as_columns(render_stats_text(stats))
    assert row["stats_lags"].dtype == np.int32 and row["stats_lags"].tolist() == list(stats.lags)
    assert row["stats_text"].startswith("Input statistics")
