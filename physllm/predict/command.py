"""`physllm predict` over a batch of sources: video files, frame folders, or a webcam recorded
first (`-`, `webcam:N`); each video through `predict_video` into its files, a failing one
reported while the others still run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from physllm.errors import PhysllmError, VideoError
from physllm.predict.estimators import Estimator
from physllm.predict.outputs import output_stem, write_prediction
from physllm.predict.video import Prediction, predict_video
from physllm.predict.windows import PredictConfig


WEBCAM_PREFIX = "webcam:"


def record_webcam(spec: str, seconds: float, out_dir: Path) -> Path:
    """Capture `seconds` from a webcam (`-` is index 0, `webcam:N` index N) into an MJPG file."""
    import cv2

    index = 0 if spec == "-" else int(spec[len(WEBCAM_PREFIX):])
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise VideoError(f"{spec}: no webcam at index {index} on this machine")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    path = out_dir / f"webcam{index}.avi"
    writer = None
    try:
        for _ in range(int(seconds * fps)):
            ok, frame = capture.read()
            if not ok:
                break
            if writer is None:
                out_dir.mkdir(parents=True, exist_ok=True)
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                         (frame.shape[1], frame.shape[0]))
            writer.write(frame)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if writer is None:
        raise VideoError(f"{spec}: the webcam at index {index} gave no frame")
    return path


def resolve_source(spec: str, seconds: float, out_dir: Path) -> Path:
    if spec == "-" or spec.startswith(WEBCAM_PREFIX):
        return record_webcam(spec, seconds, out_dir)
    return Path(spec)


@dataclass
class BatchResult:
    predictions: list[tuple[Prediction, dict[str, Path]]]
    failures: list[tuple[str, str]]  # (source, reason)


def run_predict(sources: Sequence[str], estimator: Estimator, out_dir: Path,
                cfg: PredictConfig = PredictConfig(), webcam_seconds: float = 30.0,
                fps: float | None = None) -> BatchResult:
    """Predict every source; a video that fails is reported and the others still run."""
    from physllm.progress import progress_bar

    result, stems = BatchResult([], []), set()
    with progress_bar(f"predict ({estimator.name})", len(sources)) as advance:
        for spec in sources:
            try:
                source = resolve_source(spec, webcam_seconds, out_dir)
                pred = predict_video(source, estimator, cfg, fps=fps)
                result.predictions.append((pred, write_prediction(pred, out_dir, output_stem(spec, stems))))
            except PhysllmError as error:
                result.failures.append((spec, str(error)))
            advance()
    return result

