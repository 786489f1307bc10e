"""Heart-rate metrics across videos, with standard errors as rPPG-Toolbox reports them.

Source: rPPG-Toolbox `evaluation/metrics.py` (`calculate_metrics`). Over n per-video HRs, with
e = pred − true and std the population standard deviation (numpy's default, as there):
- MAE  = mean|e|,           SE = std|e| / √n
- RMSE = √mean(e²),         SE = √(std(e²) / √n)   (the toolbox's formula, kept for comparability)
- MAPE = 100·mean|e/true|,  SE = 100·std|e/true| / √n
- r    = Pearson,           SE = √((1 − r²) / (n − 2))
- SNR and other per-video scores: mean, SE = std / √n (`mean_se`).
Videos whose HR could not be computed (nan, e.g. fewer than two detected peaks) are left out
and counted in `n_invalid`, rather than turning every metric into nan.
"""

from __future__ import annotations

import numpy as np

NAN = float("nan")


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error (population std / √n) of the finite values."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return NAN, NAN
    return float(values.mean()), float(values.std() / np.sqrt(values.size))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; nan when either side is constant or there are fewer than two pairs."""
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return NAN
    return float(np.corrcoef(x, y)[0, 1])


def hr_metrics(pred_bpm, true_bpm) -> dict[str, float | int]:
    """MAE, RMSE, MAPE, Pearson r (each with `<name>_se`), n and n_invalid over paired HRs."""
    pred = np.asarray(pred_bpm, dtype=np.float64)
    true = np.asarray(true_bpm, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1:
        raise ValueError(f"hr_metrics expects two 1-D arrays of one length, got {pred.shape} "
                         f"and {true.shape}")
    valid = np.isfinite(pred) & np.isfinite(true)
    pred, true = pred[valid], true[valid]
    n = int(pred.size)
    out: dict[str, float | int] = {"n": n, "n_invalid": int((~valid).sum())}
    if n == 0:
        return out | {k: NAN for k in ("mae", "mae_se", "rmse", "rmse_se", "mape", "mape_se",
                                       "pearson", "pearson_se")}
    abs_err = np.abs(pred - true)
    sq_err = abs_err**2
    rel_err = abs_err / true
    r = pearson(pred, true)
    sqrt_n = np.sqrt(n)
    out["mae"], out["mae_se"] = float(abs_err.mean()), float(abs_err.std() / sqrt_n)
    out["rmse"] = float(np.sqrt(sq_err.mean()))
    out["rmse_se"] = float(np.sqrt(sq_err.std() / sqrt_n))
    out["mape"], out["mape_se"] = float(100 * rel_err.mean()), float(100 * rel_err.std() / sqrt_n)
    out["pearson"] = r
    out["pearson_se"] = float(np.sqrt((1 - r**2) / (n - 2))) if n > 2 and np.isfinite(r) else NAN
    return out
