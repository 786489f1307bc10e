"""UBFC-rPPG reader (Bobbia et al., "Unsupervised skin tissue segmentation for remote
photoplethysmography", Pattern Recognition Letters 2019; https://sites.google.com/view/ybenezeth/ubfcrppg).

Layout (the dataset's own, as rPPG-Toolbox's `UBFCrPPGLoader` reads it):
  DATASET_2 ("realistic"): `subject{N}/vid.avi` + `ground_truth.txt` — line 1 the PPG, line 2 the
  HR, line 3 the time stamps in seconds, whitespace separated, one value per frame.
  DATASET_1 ("simple"):    `{N}-gt/vid.avi` + `gtdump.xmp` — CSV rows of (time ms, HR, SpO2, PPG).
The root may be the folder of subjects or one holding `RawData/` or `DATASET_2/`. The toolbox
ignores the time stamps and assumes the PPG is frame-aligned; here it is resampled onto the frame
times by its time stamps when they are there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physllm.data_catalog.record import (VideoRecord, align_to_frames, find_level, frame_times, require_records,
                                         unreadable_record)
from physllm.data_catalog.video_io import open_video, probe_video
from physllm.errors import DatasetError, VideoError

LAYOUT = "subject{N}/vid.avi + ground_truth.txt (PPG, HR, time stamps); DATASET_1: {N}-gt/vid.avi + gtdump.xmp"
CITATION = ("S. Bobbia, R. Macwan, Y. Benezeth, A. Mansouri, J. Dubois. Unsupervised skin tissue "
            "segmentation for remote photoplethysmography. Pattern Recognition Letters, 2019.")
VIDEO_NAME = "vid.avi"
GT_NAMES = ("ground_truth.txt", "gtdump.xmp")  # DATASET_2, DATASET_1


@dataclass(frozen=True)
class GroundTruth:
    ppg: np.ndarray
    hr: np.ndarray | None
    times: np.ndarray | None  # seconds; None when the file carries none (then frame-aligned)


def read_ground_truth_txt(path: Path) -> GroundTruth:
    """DATASET_2's `ground_truth.txt`: PPG line, then HR and time-stamp lines of the same length."""
    try:
        lines = [np.array(line.split(), dtype=np.float64) for line in path.read_text().splitlines() if line.strip()]
    except (ValueError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not a UBFC-rPPG ground truth ({error}); expected whitespace-separated "
                           "numbers: line 1 PPG, line 2 HR, line 3 time stamps in seconds") from None
    if not lines or len(lines) > 3 or any(len(line) != len(lines[0]) for line in lines):
        raise DatasetError(f"{path}: {len(lines)} lines of lengths {[len(line) for line in lines]}; expected "
                           "1 to 3 lines of equal length (PPG, HR, time stamps in seconds)")
    return GroundTruth(ppg=lines[0], hr=lines[1] if len(lines) > 1 else None, times=lines[2] if len(lines) > 2 else None)


def read_gtdump_xmp(path: Path) -> GroundTruth:
    """DATASET_1's `gtdump.xmp`: CSV rows of (time in ms, HR, SpO2, PPG)."""
    try:
        table = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not a UBFC-rPPG gtdump ({error}); expected CSV rows of "
                           "time ms, HR, SpO2, PPG") from None
    if table.shape[1] != 4:
        raise DatasetError(f"{path}: {table.shape[1]} columns; expected 4 (time ms, HR, SpO2, PPG)")
    return GroundTruth(ppg=table[:, 3], hr=table[:, 1], times=table[:, 0] / 1000.0)


def read_ground_truth(path: Path) -> GroundTruth:
    return read_gtdump_xmp(path) if path.suffix == ".xmp" else read_ground_truth_txt(path)


def load_ppg_at_frames(gt_path: Path, num_frames: int, fps: float) -> np.ndarray:
    truth = read_ground_truth(gt_path)
    # Without time stamps the toolbox's assumption stands: one PPG sample per frame.
    times = truth.times if truth.times is not None else frame_times(len(truth.ppg), fps)
    return align_to_frames(gt_path, truth.ppg, times, frame_times(num_frames, fps))


def mean_hr(gt_path: Path) -> float | None:
    """The dataset's mean HR (oximeter readings > 0). None when the file cannot be parsed:
    that error is raised, with its reason, by the record's `ppg()`."""
    try:
        hr = read_ground_truth(gt_path).hr
    except DatasetError:
        return None
    valid = hr[hr > 0] if hr is not None else np.empty(0)
    return float(valid.mean()) if len(valid) else None


def _subject_folders(root: Path) -> list[Path]:
    return [folder for folder in root.iterdir() if folder.is_dir() and (folder / VIDEO_NAME).exists()]


def _ground_truth_file(folder: Path) -> Path:
    for name in GT_NAMES:
        if (folder / name).exists():
            return folder / name
    raise DatasetError(f"{folder}: {VIDEO_NAME} has no ground truth beside it (expected {' or '.join(GT_NAMES)})")


def make_record(folder: Path, dataset: str) -> VideoRecord:
    video, gt_path = folder / VIDEO_NAME, _ground_truth_file(folder)
    try:
        info = probe_video(video)
    except VideoError as error:
        return unreadable_record(dataset, folder.name, video.stem, video, error)
    return VideoRecord(
        dataset=dataset, subject=folder.name, session=video.stem, path=video,
        fps=info.fps, num_frames=info.num_frames,
        open_frames=functools.partial(open_video, video),
        load_ppg=functools.partial(load_ppg_at_frames, gt_path, info.num_frames, info.fps),
        hr_bpm=mean_hr(gt_path),
    )


def scan(root: Path, dataset: str = "ubfc-rppg") -> list[VideoRecord]:
    """One record per subject folder holding `vid.avi`, sorted numerically by subject."""
    folder = find_level(root, dataset, ("RawData", "DATASET_2"), LAYOUT)
    records = [make_record(subject, dataset) for subject in _subject_folders(folder)]
    return require_records(records, folder, dataset, LAYOUT)
