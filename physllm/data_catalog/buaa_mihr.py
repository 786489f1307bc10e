"""BUAA-MIHR reader (Xi, Chen, Zhao, et al., "Image Enhancement for Remote Photoplethysmography
in a Low-Light Environment", IEEE FG 2020): 14 subjects under 11 illuminance levels.

rPPG-Toolbox has no loader for it. The layout implemented here is the one public analysis code
reads (Shuo Li's pyVHR-based ROI study, `util_analysis.GroundTruth` for 'BUAA-MIHR', and a
toolbox fork's `BUAAMIHRLoader` globbing `Sub*` folders for `*.avi` and `*_wave.csv`):
  `Sub {NN}/lux {L}/lux{L}_{NAME}.avi`        the video (L in 1.0, 1.6, …, 63.1, 100.0)
  `Sub {NN}/lux {L}/lux{L}_{NAME}_wave.csv`   the PPG, one value per line
  `Sub {NN}/lux {L}/lux{L}_{NAME}.csv`        oximeter readings with a header, HR in `PULSE`
Not confirmed against the dataset's own README (not public): the PPG's sample rate is not
documented there either, so, as that code does, the PPG is taken to span the video exactly and
is stretched onto the frames (no length check is possible).
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import numpy as np

from physllm.data_catalog.record import (VideoRecord, align_to_frames, find_level, frame_times, require_records,
                                         unreadable_record)
from physllm.data_catalog.video_io import open_video, probe_video
from physllm.errors import DatasetError, VideoError

LAYOUT = "Sub {NN}/lux {L}/lux{L}_{NAME}.avi + lux{L}_{NAME}_wave.csv (PPG) + lux{L}_{NAME}.csv (PULSE)"
CITATION = ("L. Xi, W. Chen, C. Zhao, X. Wu, J. Wang. Image Enhancement for Remote Photoplethysmography "
            "in a Low-Light Environment. IEEE FG, 2020.")
SUBJECT_FOLDER = re.compile(r"^Sub\s*(\d+)$", re.IGNORECASE)
LUX_FOLDER = re.compile(r"^lux\s*([\d.]+)$", re.IGNORECASE)


def read_wave_csv(path: Path) -> np.ndarray:
    try:
        wave = np.loadtxt(path, delimiter=",", ndmin=1, dtype=np.float64)
    except (ValueError, OSError) as error:
        raise DatasetError(f"{path}: not a BUAA-MIHR PPG file ({error}); expected one number per line") from None
    if wave.ndim != 1:
        raise DatasetError(f"{path}: {wave.shape[1]} columns; expected one PPG value per line")
    return wave


def read_pulse(path: Path) -> float | None:
    """Mean of the oximeter's `PULSE` column (> 0), or None when the file is absent or unreadable."""
    try:
        with path.open(newline="") as handle:
            pulse = np.array([float(row["PULSE"]) for row in csv.DictReader(handle)])
    except (OSError, KeyError, ValueError, TypeError):
        return None
    valid = pulse[pulse > 0]
    return float(valid.mean()) if len(valid) else None


def load_ppg_at_frames(wave_path: Path, num_frames: int, fps: float) -> np.ndarray:
    wave = read_wave_csv(wave_path)
    # Undocumented sample rate: the wave is taken to span the video (see the module docstring).
    wave_times = np.arange(len(wave)) * (num_frames / fps) / len(wave)
    return align_to_frames(wave_path, wave, wave_times, frame_times(num_frames, fps))


def make_record(video: Path, subject_number: str, lux: float, dataset: str) -> VideoRecord:
    wave_path = video.with_name(f"{video.stem}_wave.csv")
    if not wave_path.exists():
        raise DatasetError(f"{video}: no {wave_path.name} beside it (expected the PPG as <video name>_wave.csv)")
    subject = f"sub{int(subject_number):02d}"
    try:
        info = probe_video(video)
    except VideoError as error:
        return unreadable_record(dataset, subject, video.stem, video, error)
    return VideoRecord(
        dataset=dataset, subject=subject, session=video.stem, path=video,
        fps=info.fps, num_frames=info.num_frames,
        open_frames=functools.partial(open_video, video),
        load_ppg=functools.partial(load_ppg_at_frames, wave_path, info.num_frames, info.fps),
        hr_bpm=read_pulse(video.with_suffix(".csv")),
        metadata={"lux": lux},
    )


def scan(root: Path, dataset: str = "buaa-mihr") -> list[VideoRecord]:
    """One record per `.avi` in every `Sub NN/lux L/` folder."""
    folder = find_level(root, dataset, ("RawData",), LAYOUT)
    records = []
    for subject in folder.iterdir():
        subject_match = SUBJECT_FOLDER.match(subject.name)
        if not (subject_match and subject.is_dir()):
            continue
        for lux_dir in subject.iterdir():
            lux_match = LUX_FOLDER.match(lux_dir.name)
            if lux_match and lux_dir.is_dir():
                records += [make_record(video, subject_match.group(1), float(lux_match.group(1)), dataset)
                            for video in lux_dir.glob("*.avi")]
    return require_records(records, folder, dataset, LAYOUT)
