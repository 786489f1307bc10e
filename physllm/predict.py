"""Heart rate from a person's own, unlabelled video: `physllm predict` (issue #6).

The video goes through the same code as `precompute` (`pipeline.clips.iter_clips`: Haar face
crop, 128-frame clips) and then either a trained PhysLLM (frozen PhysNet + describer + stats
cues + the checkpoint, `PhysLLMEstimator`) or a classic method on the crops' mean RGB
(`BaselineEstimator`: GREEN, CHROM, POS). The clip waveforms are joined, turned into a pulse
as the field does (`pulse.to_pulse`), and read two ways:

- the whole video: HR at the periodogram peak;
- sliding windows (10 s, step 1 s by default): HR, SNR of the spectral peak (de Haan 2013, as
  `pulse.snr_db`) and a confidence in [0, 1]; windows with too little face, or an SNR under
  the threshold, are flagged and get no number;
- vitals (`physllm.vitals`): HRV (SDNN, RMSSD, pNN50) per window and for the video, breathing
  rate for the video, each with its own flag, read on the wave before the HR band-pass.

Memory holds one batch of clips at a time plus one float per frame, whatever the length.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

import numpy as np

from physllm import pulse, vitals
from physllm.data_catalog.video_io import open_video, probe_video
from physllm.errors import PhysllmError, VideoError
from physllm.evaluation.baselines import BASELINES
from physllm.pipeline.clips import Clip, ClipConfig, iter_clips


@dataclass(frozen=True)
class PredictConfig:
    window_s: float = 10.0  # issue #6: HR over a sliding 10 s window…
    step_s: float = 1.0  # …every second
    min_snr_db: float = 0.0  # a peak with less power than the rest of the band is not a pulse
    min_face_fraction: float = 0.5  # a window needs a face in at least half of its detections
    confidence_scale_db: float = 3.0  # SNR → confidence: a logistic centred on `min_snr_db`
    batch_clips: int = 8  # clips per model batch (the authors' batch size)


@dataclass(frozen=True)
class WindowEstimate:
    start_s: float
    end_s: float
    hr_bpm: float | None  # None when the window is flagged
    snr_db: float
    confidence: float  # in [0, 1]; 0 for a window without a face
    face_fraction: float
    flag: str  # "ok" | "no_face" | "low_snr"
    sdnn_ms: float | None = None  # HRV of the window (physllm.vitals); None unless hrv_flag is "ok"
    rmssd_ms: float | None = None
    pnn50: float | None = None
    hrv_flag: str = "not_read"  # the window's own flag when it is not "ok", else vitals' flag


@dataclass
class Prediction:
    source: str
    method: str
    fps: float
    hr_bpm: float | None  # whole video; None when no window is reliable
    windows: list[WindowEstimate]
    pulse: np.ndarray  # (N,) the band-passed pulse, one value per frame used
    face: np.ndarray  # (N,) share of face detections of each frame's clip
    vitals: vitals.Vitals | None = None  # HRV and breathing of the frames with a face

    @property
    def duration_s(self) -> float:
        return len(self.pulse) / self.fps


# ---------------------------------------------------------------- estimators


class Estimator(Protocol):
    """Turns clips into a per-frame signal, then the joined signal into the video's waveform."""

    name: str
    is_diff: bool  # output is DiffNormalized (PhysNet / PhysLLM) and needs integrating
    clip_config: ClipConfig  # face crop and clip length: a checkpoint's must match its training

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]: ...

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray: ...


class BaselineEstimator:
    """A classic method (GREEN, CHROM, POS) on the mean RGB of the face crops."""

    is_diff = False
    clip_config = ClipConfig()

    def __init__(self, name: str):
        if name not in BASELINES:
            raise PhysllmError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
        self.name = name

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        return [clip.rgb_mean for clip in clips]  # (T, 3) each

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        # Frames without a face hold whatever the stale box shows (often black): give them the
        # face frames' mean colour, so they carry no pulse and no division by a zero mean.
        rgb = joined.astype(np.float64)
        rgb[face == 0] = rgb[face > 0].mean(axis=0)
        return BASELINES[self.name](rgb, fps)


class PhysLLMEstimator:
    """A trained PhysLLM fed by the same frozen backbone, describer and stats cues that built
    its training shards: their settings travel in the checkpoint's training record."""

    name = "physllm"
    is_diff = True

    def __init__(self, checkpoint: Path, backbone: Path | None = None, device: str = "auto"):
        from physllm.model.checkpoint import load_trainable
        from physllm.pipeline.backbone import BackboneRunner
        from physllm.pipeline.describers import make_describer
        from physllm.train.inference import read_training_info, resolve_device

        cache = training_cache(read_training_info(Path(checkpoint)), checkpoint)
        self.device = resolve_device(device)
        self.model = load_trainable(checkpoint, device=self.device)
        self.runner = BackboneRunner(find_backbone(cache, backbone), device=str(self.device))
        describer = cache["settings"]["describer"]
        self.describer = make_describer(describer["name"], describer.get("model"))
        self.dataset_description = cache["dataset_description"]
        self.clip_config = clip_config_of(cache["settings"])

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        import torch

        from physllm.pipeline.job import cue_rows
        from physllm.shards.schema import feature_column
        from physllm.train.data import cue_texts

        rows = cue_rows(clips, self.runner, self.describer, fps)
        texts = [cue_texts(self.dataset_description, r["description"], r["stats_text"]) for r in rows]
        cues = {cue: [t[cue] for t in texts] for cue in texts[0]}
        stack = lambda key: torch.from_numpy(np.stack([r[key] for r in rows])).to(self.device)  # noqa: E731
        scales = range(len(self.model.cfg.feature_strides))
        with torch.inference_mode():
            wave = self.model(stack("backbone_wave"),  # (B, T)
                              [stack(feature_column(s + 1)) for s in scales],  # 4 × (B, 64, T_s)
                              self.model.tokenize_cues(cues))
        return list(wave.float().cpu().numpy())

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        return joined


def training_cache(info: dict, checkpoint: Path) -> dict:
    """The cue settings a checkpoint was trained with (one backbone and describer for all caches)."""
    caches = info.get("caches") or []
    if not caches or "settings" not in caches[0]:
        raise PhysllmError(f"{checkpoint}: its training record holds no cue settings (expected a "
                           "checkpoint written by `physllm train`)")
    backbones = {c["settings"]["backbone"]["sha256"] for c in caches}
    if len(backbones) > 1:
        raise PhysllmError(f"{checkpoint}: trained on caches built with {len(backbones)} different "
                           "backbones; a new video's cues would not match them")
    return caches[0]


def find_backbone(cache: dict, override: Path | None) -> Path:
    """The PhysNet file whose sha256 the training cues were made with."""
    from physllm.shards.cache import file_sha256

    expected = cache["settings"]["backbone"]
    candidates = [override] if override else [
        Path(p) for p in (cache.get("backbone_path"),
                          Path(cache["path"]).parent.parent / "backbones" / expected["name"]) if p]
    for path in candidates:
        if path.is_file() and file_sha256(path) == expected["sha256"]:
            return path
    if override and override.is_file():
        raise PhysllmError(f"{override}: not the backbone this checkpoint was trained with "
                           f"(expected sha256 {expected['sha256'][:12]}…, the cues of {expected['name']})")
    looked = ", ".join(str(p) for p in candidates)
    raise PhysllmError(f"the backbone this checkpoint was trained with ({expected['name']}, sha256 "
                       f"{expected['sha256'][:12]}…) is not at {looked}; pass it with --backbone")


def clip_config_of(settings: dict) -> ClipConfig:
    from physllm.pipeline.face import FaceConfig

    pre = settings["preprocessing"]
    return ClipConfig(clip_frames=pre["clip_frames"], size=pre["size"], face=FaceConfig(**pre["face"]))


def make_estimator(checkpoint: Path | None, baseline: str | None, backbone: Path | None = None,
                   device: str = "auto") -> Estimator:
    if (checkpoint is None) == (baseline is None):
        raise PhysllmError("give exactly one of --checkpoint (a trained PhysLLM) or --baseline pos|chrom|green")
    if baseline is not None:
        return BaselineEstimator(baseline.lower())
    return PhysLLMEstimator(checkpoint, backbone, device)


# ---------------------------------------------------------------- windows


def window_starts(num_frames: int, fps: float, window_s: float, step_s: float) -> np.ndarray:
    """First frame of every full window."""
    window, step = int(round(window_s * fps)), max(1, int(round(step_s * fps)))
    return np.arange(0, num_frames - window + 1, step)


def confidence_of(snr_db: float, face_fraction: float, cfg: PredictConfig) -> float:
    if face_fraction < cfg.min_face_fraction or not math.isfinite(snr_db):
        return 0.0
    return float(1.0 / (1.0 + math.exp(-(snr_db - cfg.min_snr_db) / cfg.confidence_scale_db)))


def estimate_window(pulse_wave: np.ndarray, face: np.ndarray, fps: float, start: int,
                    cfg: PredictConfig) -> WindowEstimate:
    """HR, SNR of the spectral peak, confidence and flag of one window of the pulse."""
    stop = start + int(round(cfg.window_s * fps))
    segment = pulse_wave[start:stop]
    face_fraction = float(face[start:stop].mean())
    hr = pulse.hr_fft(segment, fps)
    snr = pulse.snr_db(segment, fps, hr)
    if face_fraction < cfg.min_face_fraction:
        flag = "no_face"
    elif not snr >= cfg.min_snr_db:
        flag = "low_snr"
    else:
        flag = "ok"
    return WindowEstimate(start / fps, stop / fps, hr if flag == "ok" else None, snr,
                          confidence_of(snr, face_fraction, cfg), face_fraction, flag)


def estimate_windows(pulse_wave: np.ndarray, face: np.ndarray, fps: float,
                     cfg: PredictConfig) -> list[WindowEstimate]:
    starts = window_starts(len(pulse_wave), fps, cfg.window_s, cfg.step_s)
    return [estimate_window(pulse_wave, face, fps, int(s), cfg) for s in starts]


def window_vitals(window: WindowEstimate, raw_pulse: np.ndarray, fps: float) -> WindowEstimate:
    """The window with its HRV; a window without a reliable HR gets its flag and no HRV."""
    if window.flag != "ok":
        return replace(window, hrv_flag=window.flag)
    start, stop = int(round(window.start_s * fps)), int(round(window.end_s * fps))
    read = vitals.vitals(raw_pulse[start:stop], fps)
    return replace(window, sdnn_ms=read.sdnn_ms, rmssd_ms=read.rmssd_ms, pnn50=read.pnn50, hrv_flag=read.hrv_flag)


def whole_video_vitals(raw_pulse: np.ndarray, face: np.ndarray, fps: float,
                       windows: Sequence[WindowEstimate]) -> vitals.Vitals | None:
    """HRV and breathing over the frames with a face (as `whole_video_hr`; where a faceless stretch
    is cut out, the interval across the cut is one IBI the outlier rule usually rejects); None if
    no window is reliable."""
    if not any(w.flag == "ok" for w in windows):
        return None
    return vitals.vitals(raw_pulse[face > 0], fps)


def whole_video_hr(pulse_wave: np.ndarray, face: np.ndarray, fps: float,
                   windows: Sequence[WindowEstimate]) -> float | None:
    """HR at the periodogram peak of the frames with a face; None if no window is reliable."""
    if not any(w.flag == "ok" for w in windows):
        return None
    return pulse.hr_fft(pulse_wave[face > 0], fps)


# ---------------------------------------------------------------- one video


def batched(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def predict_video(source: Path, estimator: Estimator, cfg: PredictConfig = PredictConfig(),
                  fps: float | None = None) -> Prediction:
    """Run one video (file or frame folder) through clips → estimator → pulse → windows."""
    info = probe_video(source, fps=fps)
    min_frames = int(math.ceil(cfg.window_s * info.fps))
    clip_frames = estimator.clip_config.clip_frames
    usable = info.num_frames // clip_frames * clip_frames
    if usable < min_frames:
        raise VideoError(f"{source}: {info.num_frames / info.fps:.1f} s of video gives {usable} frames in "
                         f"whole {clip_frames}-frame clips; expected at least {cfg.window_s:g} s "
                         f"({min_frames} frames) for one window")
    signals, face = [], []
    clips = iter_clips(open_video(source), None, estimator.clip_config, video_id=str(source))
    for batch in batched(clips, cfg.batch_clips):
        signals += estimator.clip_signals(batch, info.fps)
        face += [np.full(len(clip.rgb_mean), clip.face_fraction, dtype=np.float32) for clip in batch]
    face_per_frame = np.concatenate(face)
    wave = estimator.video_wave(np.concatenate(signals), face_per_frame, info.fps)
    wave = np.where(np.isfinite(wave), wave, 0.0)
    pulse_wave = pulse.to_pulse(wave, info.fps, diff=estimator.is_diff)
    raw_pulse = vitals.pulse_domain(wave, estimator.is_diff)
    windows = [window_vitals(w, raw_pulse, info.fps)
               for w in estimate_windows(pulse_wave, face_per_frame, info.fps, cfg)]
    return Prediction(str(source), estimator.name, info.fps,
                      whole_video_hr(pulse_wave, face_per_frame, info.fps, windows),
                      windows, pulse_wave.astype(np.float32), face_per_frame,
                      whole_video_vitals(raw_pulse, face_per_frame, info.fps, windows))


# ---------------------------------------------------------------- outputs


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
    """`<stem>.json` (everything), `<stem>_windows.csv`, `<stem>_waveform.csv`, `<stem>.png`."""
    from physllm.evaluation.plots import prediction_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    times = np.arange(len(pred.pulse)) / pred.fps
    paths = {kind: out_dir / name for kind, name in (
        ("json", f"{stem}.json"), ("windows", f"{stem}_windows.csv"),
        ("waveform", f"{stem}_waveform.csv"), ("figure", f"{stem}.png"))}
    summary = {"source": pred.source, "method": pred.method, "fps": pred.fps,
               "duration_s": pred.duration_s, "hr_bpm": pred.hr_bpm,
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
        writer.writerow(["time_s", "pulse", "face_fraction"])
        writer.writerows(zip(times.round(4), pred.pulse.round(5), pred.face))
    centres = [(w.start_s + w.end_s) / 2 for w in pred.windows]
    prediction_figure(times, pred.pulse, pred.fps, centres,
                      [w.hr_bpm if w.hr_bpm is not None else np.nan for w in pred.windows],
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


# ---------------------------------------------------------------- sources and the batch


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


def print_batch(result: BatchResult) -> None:
    from rich.table import Table

    from physllm.progress import console

    for pred, paths in result.predictions:
        table = Table(title=f"{pred.source}: {_bpm(pred.hr_bpm)} over {pred.duration_s:.0f} s ({pred.method})",
                      title_justify="left")
        for column in ("window", "HR (bpm)", "SNR (dB)", "confidence", "flag", "RMSSD (ms)"):
            table.add_column(column, justify="right")
        for w in pred.windows:
            table.add_row(f"{w.start_s:.0f}–{w.end_s:.0f} s", _bpm(w.hr_bpm, unit=False),
                          f"{w.snr_db:.1f}", f"{w.confidence:.2f}", w.flag,
                          f"{w.rmssd_ms:.0f}" if w.rmssd_ms is not None else "—")
        console.print(table)
        console.print(vitals_line(pred.vitals), highlight=False)
        console.print(f"wrote {paths['json']}, {paths['windows'].name}, {paths['waveform'].name}, "
                      f"{paths['figure'].name}")
    for source, reason in result.failures:
        console.print(f"[bold red]error:[/bold red] {reason}", highlight=False)


def vitals_line(read: vitals.Vitals | None) -> str:
    """`HRV: SDNN 42 ms, RMSSD 35 ms, pNN50 12%; breathing 15.2 /min`, or why each was skipped."""
    if read is None:
        return "HRV and breathing: not read (no reliable HR)"
    hrv = (f"SDNN {read.sdnn_ms:.0f} ms, RMSSD {read.rmssd_ms:.0f} ms, pNN50 {read.pnn50:.0f}%"
           if read.hrv_flag == "ok" else f"not read ({read.hrv_flag})")
    breathing = f"{read.breathing_rpm:.1f} /min" if read.breathing_flag == "ok" else f"not read ({read.breathing_flag})"
    return f"HRV ({read.beats} beats): {hrv}; breathing {breathing}"


def _bpm(hr: float | None, unit: bool = True) -> str:
    if hr is None:
        return "no reliable HR" if unit else "—"
    return f"{hr:.1f} bpm" if unit else f"{hr:.1f}"
