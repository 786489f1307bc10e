"""`physllm predict`: `PredictConfig`, every option of the command, and `run_predict(cfg)`: each
source (a video file, a frame folder, or a webcam recorded first: `-`, `webcam:N`) through
`predict_video` into its files, a failing one reported while the others still run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from physllm.config import arg, inline, opt
from physllm.errors import PhysllmError, VideoError
from physllm.predict.estimators import EstimatorConfig, make_estimator
from physllm.predict.outputs import output_stem, write_prediction
from physllm.predict.video import Prediction, predict_video
from physllm.predict.windows import WindowConfig


@dataclass
class PredictConfig:
    videos: list[str] = arg("Video files (mp4, avi, mov, mkv), frame folders, or `-` / `webcam:N` for a webcam.",
                            default_factory=list)
    out: Path = opt("Folder for the JSON, CSV and PNG outputs.", default=Path("runs/predict"))
    fps: Optional[float] = opt("Frame rate, for a frame folder (or to override a file's header).", default=None)
    webcam_seconds: float = opt("Seconds to record from a webcam.", default=30.0)
    estimator: EstimatorConfig = inline(EstimatorConfig)  # the method: --checkpoint, --baseline, --backbone, …
    windows: WindowConfig = inline(WindowConfig)  # the read-out: --window-s, --min-confidence, …
    RANGES = {"fps": "> 0", "webcam_seconds": "> 0"}


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


def run_predict(cfg: PredictConfig) -> BatchResult:
    """Predict every video of `cfg` into `cfg.out`, beside the resolved config (`predict.config.yaml`);
    a video that fails is reported and the others still run."""
    from physllm.config import write_resolved
    from physllm.progress import progress_bar

    if not cfg.videos:
        raise PhysllmError("no video given: pass one or more files, frame folders, `-` or `webcam:N`")
    estimator = make_estimator(cfg.estimator)
    write_resolved(cfg, cfg.out, "predict")
    result, stems = BatchResult([], []), set()
    with progress_bar(f"predict ({estimator.name})", len(cfg.videos)) as advance:
        for spec in cfg.videos:
            try:
                source = resolve_source(spec, cfg.webcam_seconds, cfg.out)
                pred = predict_video(source, estimator, cfg.windows, fps=cfg.fps)
                result.predictions.append((pred, write_prediction(pred, cfg.out, output_stem(spec, stems))))
            except PhysllmError as error:
                result.failures.append((spec, str(error)))
            advance()
    return result
