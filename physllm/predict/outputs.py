"""The files `physllm predict` writes per video: `<stem>.json`, `<stem>_windows.csv`,
`<stem>_waveform.csv` and `<stem>.png` (the figure: evaluation/plots.py), with a stem unique
within a batch (`output_stem`)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from physllm.predict.video import Prediction
from physllm.predict.windows import WindowEstimate


def output_stem(source: str, taken: set[str]) -> str:
    """A file stem per video, unique within a batch: `subject1_vid` when two are `vid.avi`."""
    path = Path(source)
    candidates = [path.stem, f"{path.parent.name}_{path.stem}".strip("_")]
    candidate = next((c for c in candidates if c not in taken), None)
    n = 1
    while candidate is None or candidate in taken:
        n += 1
        candidate = f"{candidates[-1]}-{n}"
    taken.add(candidate)
    return candidate


def write_prediction(pred: Prediction, out_dir: Path, stem: str) -> dict[str, Path]:
    """`<stem>.json` (everything), `<stem>_windows.csv`, `<stem>_waveform.csv`, `<stem>.png`.

    The waveform CSV's `pulse_bandpassed` is the wave every HR is read from (`pulse.hr_fft` of it
    is the whole video's HR; the JSON's `waveform.values` is the same wave); `pulse_raw` is the
    wave before detrending and band-pass, which `pulse.to_pulse` turns into it (faceless frames
    then zeroed)."""
    from physllm.evaluation.plots import prediction_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    times = np.arange(len(pred.pulse)) / pred.fps
    paths = {kind: out_dir / name for kind, name in (
        ("json", f"{stem}.json"), ("windows", f"{stem}_windows.csv"),
        ("waveform", f"{stem}_waveform.csv"), ("figure", f"{stem}.png"))}
    summary = {"source": pred.source, "method": pred.method, "fps": pred.fps,
               "source_fps": pred.source_fps, "roi": pred.roi, "duration_s": pred.duration_s,
               "hr_bpm": pred.hr_bpm, "video": asdict(pred.video), "notes": pred.notes,
               "vitals": asdict(pred.vitals) if pred.vitals else None,
               "windows": [asdict(w) for w in pred.windows],
               "waveform": {"t0_s": 0.0, "fps": pred.fps, "values": pred.pulse.round(5).tolist()}}
    paths["json"].write_text(json.dumps(_finite(summary), indent=1, allow_nan=False))
    with paths["windows"].open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(WindowEstimate.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(w) for w in pred.windows)
    with paths["waveform"].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", "pulse_bandpassed", "pulse_raw", "face_fraction"])
        significant = lambda wave: [f"{v:.7g}" for v in wave]  # noqa: E731 (float32's precision, any scale)
        writer.writerows(zip(times.round(4), significant(pred.pulse), significant(pred.raw_pulse), pred.face))
    centres = [(w.start_s + w.end_s) / 2 for w in pred.windows]
    prediction_figure(times, pred.pulse, pred.fps, centres,
                      [w.hr_bpm if w.reliable else np.nan for w in pred.windows],
                      [w.confidence for w in pred.windows], paths["figure"])
    return paths


def _finite(value):
    """NaN and infinities → None: strict JSON that every reader parses."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

