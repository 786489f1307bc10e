"""One video through `physllm predict`: clips → estimator → pulse → windows (`predict_video`).

The video goes through the same front end as `precompute` (`pipeline.clips.iter_clips`: resampled
to the clips' frame rate on the container's time stamps, the region of interest tracked, clips of
T frames with the last one ending on the last frame), then the estimator (predict/estimators.py).
The clip waveforms are joined (`evaluation.report.join_clips`, as `evaluate` joins them), turned
into a pulse as the field does (`pulse.to_pulse`) and read out (predict/windows.py). Every video
with a face or skin gets a number.

The front end reads the next batch of clips in a thread while the model reads the current one
(`read_ahead`: decoding, OpenCV and torch release the GIL), so memory holds two batches of clips
plus one float per frame, whatever the length.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from physllm import pulse, vitals
from physllm.data_catalog.video_io import open_video_timed, probe_video
from physllm.evaluation.report import join_clips
from physllm.pipeline.clips import iter_clips
from physllm.predict.estimators import Estimator
from physllm.predict.windows import (WindowConfig, WindowEstimate, estimate_windows, whole_video,
                                     whole_video_vitals, window_vitals, zero_faceless)


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


def predict_video(source: Path, estimator: Estimator, cfg: WindowConfig = WindowConfig(),
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

