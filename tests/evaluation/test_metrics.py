import math

import numpy as np
import pytest

from physllm.evaluation.metrics import hr_metrics, mean_se

# pred − true = [−2, 2, 0, −10]; values below worked by hand (population std, as the toolbox).
PRED = [70.0, 80.0, 90.0, 100.0]
TRUE = [72.0, 78.0, 90.0, 110.0]


def test_hr_metrics_known_answer():
    m = hr_metrics(PRED, TRUE)
    assert m["n"] == 4 and m["n_invalid"] == 0
    assert m["mae"] == pytest.approx(3.5)                       # (2+2+0+10)/4
    assert m["mae_se"] == pytest.approx(math.sqrt(14.75) / 2)   # std|e| = √(59/4), /√4
    assert m["rmse"] == pytest.approx(math.sqrt(27))            # mean e² = 108/4
    assert m["rmse_se"] == pytest.approx(math.sqrt(math.sqrt(1779) / 2))  # √(std(e²)/√n)
    rel = np.array([2 / 72, 2 / 78, 0, 10 / 110])
    assert m["mape"] == pytest.approx(100 * rel.mean())
    assert m["mape"] == pytest.approx(3.60820, abs=1e-5)
    assert m["mape_se"] == pytest.approx(100 * rel.std() / 2)
    r = 630 / math.sqrt(500 * 843)  # Σdxdy / √(Σdx² Σdy²) with means 85 and 87.5
    assert m["pearson"] == pytest.approx(r)
    assert m["pearson_se"] == pytest.approx(math.sqrt((1 - r**2) / 2))


def test_hr_metrics_perfect_prediction():
    m = hr_metrics([60, 75, 90], [60, 75, 90])
    assert m["mae"] == m["rmse"] == m["mape"] == 0
    assert m["pearson"] == pytest.approx(1.0)


def test_hr_metrics_leaves_out_and_counts_invalid_videos():
    m = hr_metrics(PRED + [float("nan")], TRUE + [80.0])
    assert m["n"] == 4 and m["n_invalid"] == 1
    assert m["mae"] == pytest.approx(3.5)


def test_hr_metrics_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one length"):
        hr_metrics([1.0, 2.0], [1.0])


def test_mean_se():
    mean, se = mean_se([1.0, 3.0, float("nan")])
    assert mean == pytest.approx(2.0)
    assert se == pytest.approx(1.0 / math.sqrt(2))
