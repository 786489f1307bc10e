"""Heart rate from a person's own, unlabelled video: `physllm predict`.

The video goes through the same front end as `precompute` (`pipeline.clips.iter_clips`: resampled
to the clips' frame rate on the container's time stamps, the region of interest tracked, clips of
T frames with the last one ending on the last frame) and then either a trained PhysLLM (frozen
PhysNet + describer + stats cues + the checkpoint, `PhysLLMEstimator`) or a classic method on
the skin's mean RGB (`BaselineEstimator`: GREEN, CHROM, POS). The clip waveforms are joined
(`evaluation.report.join_clips`, as `evaluate` joins them), turned into a pulse as the field does
(`pulse.to_pulse`), and read two ways:

- the whole video: HR at the zero-padded periodogram's interpolated peak (`pulse.hr_fft`) and
  from inter-beat intervals (`pulse.hr_peaks`);
- sliding windows (10 s, step 1 s by default; one window as long as the video when it is
  shorter): the same two HRs, the SNR of the spectral peak (de Haan 2013, `pulse.snr_db`) as the
  signal-quality index, and a confidence in [0, 1];
- vitals (`physllm.vitals`): HRV (SDNN, RMSSD, pNN50) per reliable window and for a reliable
  video, breathing rate for the video, each with its own flag, read on the wave before the HR
  band-pass.

Every video with a face or skin gets a number. Each number carries its confidence and a flag:
`reliable` is false, and the terminal says why, for too little face or a confidence under
`min_confidence`. The confidence is σ((SNR − centre) / scale) with the method's own centre and
scale, a logistic fitted by bench/reliability.py to P(HR within 3 bpm) on rendered and real
videos (docs/BENCHMARKS.md, "Confidence, per method").

The front end reads the next batch of clips in a thread while the model reads the current one
(`read_ahead`: decoding, OpenCV and torch release the GIL), so memory holds two batches of clips
plus one float per frame, whatever the length.
"""

from __future__ import annotations

import csv
import json
import math
import queue
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

import numpy as np

from physllm import pulse, vitals
from physllm.classic_methods import BASELINES
from physllm.data_catalog.video_io import open_video_timed, probe_video
from physllm.errors import PhysllmError, VideoError
from physllm.evaluation.report import join_clips
from physllm.pipeline.clips import Clip, ClipConfig, iter_clips


@dataclass(frozen=True)
class PredictConfig:
    window_s: float = 10.0  # rPPG-Toolbox's EVALUATION_WINDOW and the common HR-track window…
    step_s: float = 1.0  # …every second
    # SNR → confidence: σ((SNR − centre) / scale), an estimate of P(HR within 3 bpm); a window is
    # reliable from `min_confidence` up. Centre and scale are the method's (next setting) unless given.
    snr_centre_db: float | None = None  # one centre (dB) for every method
    confidence_scale_db: float | None = None  # one scale (dB) for every method
    # (centre, scale) per method: bench/reliability.py's logistic fit on 10-s windows of 8 renders of
    # each renderer and the two real 12-s clips, the three sources weighted equally (docs/BENCHMARKS.md
    # "Confidence"; PhysLLM: the demo's checkpoint with the released UBFC-rPPG PhysNet); GREEN,
    # unmeasured, keeps the earlier (0, 3), as any method not listed
    confidence_by_method_db: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "pos": (-5.0, 5.2), "chrom": (-4.0, 2.9), "physnet": (-1.7, 8.1), "green": (0.0, 3.0),
        "physllm": (-11.2, 11.0)})
    min_confidence: float = 0.5
    min_face_fraction: float = 0.5  # a window needs the region in at least half of its detections
    batch_clips: int = 8  # clips per model batch (the authors' batch size)
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"window_s": "> 0", "step_s": "> 0", "min_face_fraction": "[0, 1]",
              "confidence_scale_db": "> 0", "batch_clips": ">= 1", "min_confidence": "[0, 1]"}

    def for_method(self, method: str) -> PredictConfig:
        """These settings with the SNR → confidence mapping set: what was given, else `method`'s."""
        centre, scale = self.confidence_by_method_db.get(method, (0.0, 3.0))
        return replace(self, snr_centre_db=centre if self.snr_centre_db is None else self.snr_centre_db,
                       confidence_scale_db=scale if self.confidence_scale_db is None else self.confidence_scale_db)


@dataclass(frozen=True)
class WindowEstimate:
    start_s: float
    end_s: float
    hr_bpm: float  # FFT peak, always given; trust it by `reliable`
    hr_peaks_bpm: float  # 60 / mean inter-beat interval (nan with fewer than two beats)
    snr_db: float  # signal-quality index: power at the peak and its harmonic vs the rest of the band
    confidence: float  # in [0, 1]; 0 for a window without a face
    face_fraction: float
    reliable: bool
    flag: str  # "ok" | "no_face" | "low_confidence"
    sdnn_ms: float | None = None  # HRV of the window (physllm.vitals); None unless hrv_flag is "ok"
    rmssd_ms: float | None = None
    pnn50: float | None = None
    hrv_flag: str = "not_read"  # the window's own flag when it is not "ok", else vitals' flag


@dataclass
class Prediction:
    source: str
    method: str
    fps: float  # the rate the pulse is sampled at (the clips')
    source_fps: float  # the video's own (nominal) rate
    roi: str  # the region read: "face", "skin" or "none"
    video: WindowEstimate  # the whole video as one window
    windows: list[WindowEstimate]
    pulse: np.ndarray  # (N,) the band-passed pulse every HR is read from, 0 where no clip found the region
    raw_pulse: np.ndarray  # (N,) the wave before detrending and band-pass (DiffNormalized outputs integrated)
    face: np.ndarray  # (N,) share of face detections of each frame's clip
    notes: list[str]  # what the terminal should say about how the video was read
    vitals: vitals.Vitals | None = None  # HRV and breathing of the frames with a face, if reliable

    @property
    def hr_bpm(self) -> float:
        return self.video.hr_bpm

    @property
    def duration_s(self) -> float:
        return len(self.pulse) / self.fps


# ---------------------------------------------------------------- estimators


class Estimator(Protocol):
    """Turns clips into a per-frame signal, then the joined signal into the video's waveform."""

    name: str
    is_diff: bool  # output is DiffNormalized (PhysNet / PhysLLM) and needs integrating
    clip_config: ClipConfig  # face crop and clip length: a checkpoint's must match its training
    note: str | None  # a line about how it read the last video (the method chosen for the user, a fallback)

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]: ...

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray: ...


class BaselineEstimator:
    """A classic method (GREEN, CHROM, POS) on the mean RGB of the skin in each frame."""

    is_diff = False
    note = None

    def __init__(self, name: str, clip_config: ClipConfig = ClipConfig()):
        if name not in BASELINES:
            raise PhysllmError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
        self.name = name
        self.clip_config = clip_config

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        return [clip.rgb_mean for clip in clips]  # (T, 3) each

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        return BASELINES[self.name](faceless_frames_filled(joined, face), fps)


def faceless_frames_filled(rgb: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(N, 3) mean skin colours with the frames whose clip found no face given the others' mean:
    those hold whatever the stale box shows (often black), which would carry no pulse and a
    division by a zero mean into the chrominance methods."""
    rgb = rgb.astype(np.float64)
    if np.any(face > 0):
        rgb[face == 0] = rgb[face > 0].mean(axis=0)
    return rgb


class PhysNetEstimator:
    """A frozen PhysNet alone (e.g. one of rPPG-Toolbox's released checkpoints) on the 1.5x face
    crops: the backbone PhysLLM corrects, to compare against on the same video."""

    name = "physnet"
    is_diff = True
    note = None

    def __init__(self, backbone: Path, device: str = "auto", clip_config: ClipConfig = ClipConfig()):
        from physllm.pipeline.backbone import BackboneRunner

        self.runner = BackboneRunner(backbone, device=device)
        self.clip_config = clip_config

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        return list(self.runner.run(np.stack([c.frames for c in clips])).wave)

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        return joined


FALLBACK_NAMES = {"physnet": "the frozen PhysNet's wave", "chroma": "the chrominance (POS) wave"}


class PhysLLMEstimator:
    """A trained PhysLLM fed by the same frozen backbone, describer and stats cues that built
    its training shards: their settings travel in the checkpoint's training record."""

    name = "physllm"
    is_diff = True
    note = None

    def __init__(self, checkpoint: Path, backbone: Path | None = None, device: str = "auto"):
        from physllm.device import resolve_device
        from physllm.model.checkpoint import load_trainable
        from physllm.pipeline.backbone import BackboneRunner
        from physllm.pipeline.describers import make_describer
        from physllm.train.inference import read_training_info

        cache = training_cache(read_training_info(Path(checkpoint)), checkpoint)
        self.device = resolve_device(device)
        self.model = load_trainable(checkpoint, device=self.device)
        self.model.llm.merge_adapter()  # LoRA folded into the frozen weights: one matmul a layer, not three
        self.runner = BackboneRunner(find_backbone(cache, backbone), device=str(self.device))
        describer = cache["settings"]["describer"]
        self.describer = make_describer(describer["name"], describer.get("model"))
        self.dataset_description = cache["dataset_description"]
        self.clip_config = clip_config_of(cache["settings"])

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        """Per clip (T, 5): PhysLLM's wave, the backbone's, the skin's mean RGB (for the gate)."""
        import torch

        from physllm.cues.chrominance import chrominance_wave
        from physllm.cues.rows import cue_rows
        from physllm.shards.schema import feature_column
        from physllm.cues.texts import cue_texts

        rows = cue_rows(clips, self.runner, self.describer, fps)
        for row in rows:  # the chrominance wave as training streams it from the shards' rgb_mean
            row["chroma"] = chrominance_wave(row["rgb_mean"], fps)
        texts = [cue_texts(self.dataset_description, r["description"], r["stats_text"]) for r in rows]
        cues = {cue: [t[cue] for t in texts] for cue in texts[0]}
        stack = lambda key: torch.from_numpy(np.stack([r[key] for r in rows])).to(self.device)  # noqa: E731
        scales = range(len(self.model.cfg.feature_strides))
        with torch.inference_mode():
            wave = self.model(stack("backbone_wave"),  # (B, T)
                              [stack(feature_column(s + 1)) for s in scales],  # 4 × (B, 64, T_s)
                              self.model.tokenize_cues(cues),
                              stack("chroma"))  # (B, T)
        return [np.column_stack([out, row["backbone_wave"], row["rgb_mean"]])
                for out, row in zip(wave.float().cpu().numpy(), rows)]

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        """PhysLLM's joined wave through the per-video fallback of its checkpoint (cues.quality)."""
        from physllm.cues.chrominance import chrominance_wave
        from physllm.cues.quality import video_gate

        wave, backbone = joined[:, 0], joined[:, 1]
        chroma = chrominance_wave(faceless_frames_filled(joined[:, 2:], face), fps)
        tolerance = self.model.cfg.gate_tolerance_bpm
        wave, kept = video_gate(wave, backbone, chroma, fps, tolerance)
        self.note = None if kept == "physllm" else (
            f"the fallback read this video with {FALLBACK_NAMES[kept]}: PhysLLM's heart rate lay more than "
            f"{tolerance:g} bpm from that of the input with the higher SNR")
        return wave


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
    """The clip settings a cache was made with. Caches from before the front end resampled and
    tracked (no `fps`, `roi`, `detector`) were read at the source rate with the Haar cascade."""
    from physllm.pipeline.face import FaceConfig

    pre = settings["preprocessing"]
    face = {"detector": "haar"} | pre["face"]
    return ClipConfig(clip_frames=pre["clip_frames"], size=pre["size"], fps=pre.get("fps"),
                      roi=pre.get("roi", "face"), face=FaceConfig(**face))


# The method `predict` reads with when none is named: the one our measurements rank best without
# training. On the two real webcam clips POS read 1.57 bpm MAE, the released UBFC-rPPG PhysNet
# alone 6.08 (docs/BENCHMARKS.md, "Reading video we never rendered"); CHROM is close on renders, POS on real clips.
DEFAULT_BASELINE = "pos"
DEFAULT_NOTE = ("no --checkpoint, --baseline or --backbone given: read with POS, the best method here "
                "without training (real webcam clips: 1.6 bpm MAE, the released PhysNet 6.1; docs/BENCHMARKS.md)")


def make_estimator(checkpoint: Path | None, baseline: str | None, backbone: str | Path | None = None,
                   device: str = "auto", roi: str | None = None) -> Estimator:
    """A trained PhysLLM, a classic method, (a backbone alone) the frozen PhysNet, or (nothing
    named) POS with a note saying why; `backbone` is a .pth or a released name
    (model/released.py); `roi` overrides the region of interest (pipeline.roi)."""
    from physllm.model.released import backbone_path

    backbone = backbone_path(backbone) if backbone is not None else None
    if checkpoint is None and baseline is None and backbone is None:
        estimator = BaselineEstimator(DEFAULT_BASELINE)
        estimator.note = DEFAULT_NOTE
    elif checkpoint is None and baseline is None:
        estimator = PhysNetEstimator(backbone, device)
    elif checkpoint is not None and baseline is not None:
        raise PhysllmError("give one of --checkpoint (a trained PhysLLM), --baseline pos|chrom|green, "
                           "or --backbone alone (the frozen PhysNet), not both --checkpoint and --baseline")
    else:
        estimator = (BaselineEstimator(baseline.lower()) if baseline is not None
                     else PhysLLMEstimator(checkpoint, backbone, device))
    if roi is not None:
        estimator.clip_config = replace(estimator.clip_config, roi=roi)
    return estimator


# ---------------------------------------------------------------- windows


def window_spans(num_frames: int, fps: float, window_s: float, step_s: float) -> list[tuple[int, int]]:
    """(start, stop) frames of every window, the last one flush with the video's end; one window
    of the whole video when it is shorter than `window_s`."""
    window, step = int(round(window_s * fps)), max(1, int(round(step_s * fps)))
    if num_frames <= window:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - window + 1, step))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return [(s, s + window) for s in starts]


def confidence_of(snr_db: float, face_fraction: float, cfg: PredictConfig) -> float:
    if face_fraction < cfg.min_face_fraction or not math.isfinite(snr_db):
        return 0.0
    return float(1.0 / (1.0 + math.exp(-(snr_db - cfg.snr_centre_db) / cfg.confidence_scale_db)))


def estimate_window(pulse_wave: np.ndarray, face: np.ndarray, fps: float, start: int, stop: int,
                    cfg: PredictConfig, face_fraction: float | None = None) -> WindowEstimate:
    """HRs, SNR of the spectral peak, confidence and flag of one stretch of the pulse (its face
    share: `face_fraction`, else the mean of `face` over the stretch)."""
    segment = pulse_wave[start:stop]
    face_fraction = float(face[start:stop].mean()) if face_fraction is None else face_fraction
    hr = pulse.hr_fft(segment, fps)
    snr = pulse.snr_db(segment, fps, hr)
    confidence = confidence_of(snr, face_fraction, cfg)
    if face_fraction < cfg.min_face_fraction:
        flag = "no_face"
    elif confidence < cfg.min_confidence:
        flag = "low_confidence"
    else:
        flag = "ok"
    return WindowEstimate(start / fps, stop / fps, hr, pulse.hr_peaks(segment, fps), snr, confidence,
                          face_fraction, flag == "ok", flag)


def estimate_windows(pulse_wave: np.ndarray, face: np.ndarray, fps: float,
                     cfg: PredictConfig) -> list[WindowEstimate]:
    spans = window_spans(len(pulse_wave), fps, cfg.window_s, cfg.step_s)
    return [estimate_window(pulse_wave, face, fps, start, stop, cfg) for start, stop in spans]


def window_vitals(window: WindowEstimate, raw_pulse: np.ndarray, fps: float) -> WindowEstimate:
    """The window with its HRV; a window without a reliable HR gets its flag and no HRV."""
    if not window.reliable:
        return replace(window, hrv_flag=window.flag)
    start, stop = int(round(window.start_s * fps)), int(round(window.end_s * fps))
    read = vitals.vitals(raw_pulse[start:stop], fps)
    return replace(window, sdnn_ms=read.sdnn_ms, rmssd_ms=read.rmssd_ms, pnn50=read.pnn50, hrv_flag=read.hrv_flag)


def whole_video_vitals(raw_pulse: np.ndarray, face: np.ndarray, fps: float,
                       video: WindowEstimate) -> vitals.Vitals | None:
    """HRV and breathing over the frames with a face (where a faceless stretch is cut out, the
    interval across the cut is one IBI the outlier rule usually rejects); None unless the video's
    HR is reliable."""
    if not video.reliable:
        return None
    return vitals.vitals(raw_pulse[face > 0], fps)


def zero_faceless(pulse_wave: np.ndarray, face: np.ndarray) -> np.ndarray:
    """The pulse with zeros where no clip found the region (unless none did): a faceless stretch
    adds no power to any spectrum, so every HR is the FFT peak of this wave as written."""
    return np.where((face > 0) | ~np.any(face > 0), pulse_wave, 0.0)


def whole_video(pulse_wave: np.ndarray, face: np.ndarray, fps: float, cfg: PredictConfig) -> WindowEstimate:
    """The whole video read as one window; its face share is over the frames whose clip found the
    region (a faceless stretch is zeros in the pulse), 0 when none did: the number is still
    there, flagged no_face."""
    found = face[face > 0]
    return estimate_window(pulse_wave, face, fps, 0, len(pulse_wave), cfg,
                           face_fraction=float(found.mean()) if found.size else 0.0)


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


def read_ahead(items: Iterable, depth: int = 1) -> Iterator:
    """`items`, produced in a thread up to `depth` ahead of the consumer; an exception raised while
    producing is raised here, in order. Closing the generator stops the thread at its next item."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, raised there
            put((done, exc))

    thread = threading.Thread(target=produce, name="physllm-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()


def predict_video(source: Path, estimator: Estimator, cfg: PredictConfig = PredictConfig(),
                  fps: float | None = None) -> Prediction:
    """Run one video (file or frame folder) through clips → estimator → pulse → windows.

    `fps` is the frame rate of a folder of images (or overrides a file's time stamps)."""
    cfg = cfg.for_method(estimator.name)
    info = probe_video(source, fps=fps)
    clip_fps = estimator.clip_config.fps or info.fps
    signals, face, first_frames, rois = [], [], [], set()
    clips = iter_clips(open_video_timed(source, fps), None, estimator.clip_config, video_id=str(source))
    for batch in read_ahead(batched(clips, cfg.batch_clips)):
        signals += estimator.clip_signals(batch, clip_fps)
        face += [np.full(len(clip.rgb_mean), clip.face_fraction, dtype=np.float32) for clip in batch]
        first_frames += [clip.first_frame for clip in batch]
        rois |= {clip.roi for clip in batch}
    face_per_frame = join_clips(first_frames, face)
    wave = estimator.video_wave(join_clips(first_frames, signals), face_per_frame, clip_fps)
    wave = np.where(np.isfinite(wave), wave, 0.0)
    pulse_wave = zero_faceless(pulse.to_pulse(wave, clip_fps, diff=estimator.is_diff), face_per_frame)
    raw_pulse = vitals.pulse_domain(wave, estimator.is_diff)
    notes = [estimator.note] if estimator.note else []
    if abs(clip_fps - info.fps) > 0.01 * clip_fps:
        notes.append(f"resampled from {info.fps:.2f} to {clip_fps:g} fps (the model's rate)")
    if len(pulse_wave) < cfg.window_s * clip_fps:
        notes.append(f"the video is shorter than the {cfg.window_s:g} s window: one window of "
                     f"{len(pulse_wave) / clip_fps:.1f} s")
    roi = rois.pop() if len(rois) == 1 else "face"
    if roi != "face":
        notes.append("no face: the whole frame was read as skin" if roi == "none"
                     else "no face found: read the largest skin region")
    video = whole_video(pulse_wave, face_per_frame, clip_fps, cfg)
    windows = [window_vitals(w, raw_pulse, clip_fps)
               for w in estimate_windows(pulse_wave, face_per_frame, clip_fps, cfg)]
    return Prediction(str(source), estimator.name, clip_fps, info.fps, roi, video, windows,
                      pulse=pulse_wave.astype(np.float32), raw_pulse=raw_pulse.astype(np.float32),
                      face=face_per_frame, notes=notes,
                      vitals=whole_video_vitals(raw_pulse, face_per_frame, clip_fps, video))


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
        table = Table(title=f"{pred.source}: {_verdict(pred.video)} over {pred.duration_s:.0f} s ({pred.method})",
                      title_justify="left")
        for column in ("window", "HR (bpm)", "peaks (bpm)", "SNR (dB)", "confidence", "flag", "RMSSD (ms)"):
            table.add_column(column, justify="right")
        for w in pred.windows:
            table.add_row(f"{w.start_s:.0f}–{w.end_s:.0f} s", f"{w.hr_bpm:.1f}", f"{w.hr_peaks_bpm:.1f}",
                          f"{w.snr_db:.1f}", f"{w.confidence:.2f}", w.flag,
                          f"{w.rmssd_ms:.0f}" if w.rmssd_ms is not None else "—")
        console.print(table)
        console.print(vitals_line(pred.vitals), highlight=False)
        for note in pred.notes + _why_unreliable(pred):
            console.print(f"note: {note}", highlight=False)
        console.print(f"wrote {paths['json']}, {paths['windows'].name}, {paths['waveform'].name}, "
                      f"{paths['figure'].name}")
    for source, reason in result.failures:
        console.print(f"[bold red]error:[/bold red] {reason}", highlight=False, soft_wrap=True)


def _verdict(video: WindowEstimate) -> str:
    quality = "reliable" if video.reliable else "unreliable"
    return f"{video.hr_bpm:.1f} bpm (confidence {video.confidence:.2f}, {quality})"


def _why_unreliable(pred: Prediction) -> list[str]:
    flagged = [w for w in pred.windows if not w.reliable]
    notes = []
    if pred.video.flag == "no_face":
        notes.append("the face was found in too few detections: the HR is a guess")
    elif pred.video.flag == "low_confidence":
        notes.append(f"the pulse is weak (SNR {pred.video.snr_db:.1f} dB): treat the HR as a guess")
    if flagged:
        kinds = sorted({w.flag for w in flagged})
        notes.append(f"{len(flagged)} of {len(pred.windows)} windows flagged ({', '.join(kinds)}); "
                     "their HR is kept in the files with reliable=false")
    return notes


def vitals_line(read: vitals.Vitals | None) -> str:
    """`HRV: SDNN 42 ms, RMSSD 35 ms, pNN50 12%; breathing 15.2 /min`, or why each was skipped."""
    if read is None:
        return "HRV and breathing: not read (the heart rate is not reliable)"
    hrv = (f"SDNN {read.sdnn_ms:.0f} ms, RMSSD {read.rmssd_ms:.0f} ms, pNN50 {read.pnn50:.0f}%"
           if read.hrv_flag == "ok" else f"not read ({read.hrv_flag})")
    breathing = f"{read.breathing_rpm:.1f} /min" if read.breathing_flag == "ok" else f"not read ({read.breathing_flag})"
    return f"HRV ({read.beats} beats): {hrv}; breathing {breathing}"
