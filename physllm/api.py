"""The Python API, for notebooks: the estimators, settings and result of `physllm predict`.

    import physllm

    result = physllm.baseline("pos").predict("video.mp4")          # GREEN, CHROM or POS
    result = physllm.load("runs/ubfc/best").predict(frames, fps=30)  # frames: (T, H, W, 3) RGB uint8
    result.hr_bpm, result.windows, result.pulse                      # a physllm.predict.Prediction
    physllm.save(result, "out")                                      # the files `physllm predict` writes

The settings are those of `physllm predict` (physllm/predict/command.py's `PredictConfig`) that
choose and read the estimator: `EstimatorConfig`'s (`backbone`, `roi`, `device`) and
`WindowConfig`'s (`window_s`, `step_s`, `min_confidence`, …), checked as the command line checks
them. Models load when `load` or `baseline` is called, not on `import physllm`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from physllm.config import build, check_ranges, in_range
from physllm.errors import PhysllmError, VideoError

if TYPE_CHECKING:
    import numpy as np

    from physllm.predict import Estimator, Prediction, WindowConfig


@dataclass
class Predictor:
    """One estimator (a trained PhysLLM or a classic method) with its window settings."""

    estimator: "Estimator"
    settings: "WindowConfig"

    def predict(self, video: str | Path | "np.ndarray", fps: float | None = None) -> "Prediction":
        """Heart rate of a video file, a frame folder, or frames (T, H, W, 3) RGB uint8 at `fps`."""
        from physllm.predict import predict_video

        if fps is not None and not in_range(fps, "> 0"):
            raise PhysllmError(f"fps must be > 0, got {fps}")
        if isinstance(video, (str, Path)):
            return predict_video(Path(video), self.estimator, self.settings, fps=fps)
        if fps is None:
            raise PhysllmError("frames need their frame rate: predict(frames, fps=...)")
        with tempfile.TemporaryDirectory(prefix="physllm-frames-") as folder:
            source = _write_frames(video, Path(folder))
            return replace(predict_video(source, self.estimator, self.settings, fps=fps), source="frames")


def _write_frames(frames, folder: Path) -> Path:
    """Frames as a lossless frame folder (BMP), the input `physllm predict` reads for a folder:
    the same decoder, face crop and clips as a video file."""
    import cv2
    import numpy as np

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise VideoError(f"frames: expected RGB uint8 of shape (T, H, W, 3), got {frames.dtype} {frames.shape}")
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:06d}.bmp"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder


def _predictor(settings: dict) -> Predictor:
    """The estimator of `EstimatorConfig`'s settings and the read-out of `WindowConfig`'s, each
    checked (unknown names, types, ranges) before any model loads."""
    from physllm.predict import EstimatorConfig, WindowConfig, make_estimator

    chooses = set(EstimatorConfig.__dataclass_fields__)  # paths as the command line gives them: text
    estimator = build(EstimatorConfig, {k: str(v) if isinstance(v, Path) else v
                                        for k, v in settings.items() if k in chooses})
    windows = build(WindowConfig, {k: v for k, v in settings.items() if k not in chooses})
    check_ranges(windows)
    return Predictor(make_estimator(estimator), windows)


def baseline(name: str, **settings) -> Predictor:
    """A classic method on the face crops' mean RGB: "pos", "chrom" or "green"."""
    return _predictor({**settings, "baseline": name.lower()})


def load(checkpoint: str | Path, **settings) -> Predictor:
    """A trained PhysLLM checkpoint (`physllm train`'s `<out>/best`), with the backbone, describer
    and clip settings it was trained with (`backbone=` where the file moved, `device=`)."""
    return _predictor({**settings, "checkpoint": checkpoint})


def save(prediction: "Prediction", out: str | Path, stem: str | None = None) -> dict[str, Path]:
    """Write `<stem>.json`, `<stem>_windows.csv`, `<stem>_waveform.csv` and `<stem>.png` into `out`."""
    from physllm.predict import write_prediction

    return write_prediction(prediction, Path(out), stem or Path(prediction.source).stem or "video")
