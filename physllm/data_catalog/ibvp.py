"""iBVP reader (Joshi & Cho, "iBVP Dataset: RGB-Thermal rPPG Dataset with High Resolution Signal
Quality Labels", Electronics 13(7):1334, 2024; https://doi.org/10.3390/electronics13071334).

Layout, as rPPG-Toolbox's `iBVPLoader` reads it (https://github.com/ubicomplab/rPPG-Toolbox,
dataset/data_loader/iBVPLoader.py): `p{NN}_{t}/p{NN}_{t}_rgb/*.bmp` (640×480 RGB frames),
`p{NN}_{t}/p{NN}_{t}_t/*.raw` (thermal, not read here) and `p{NN}_{t}/p{NN}_{t}_bvp.csv`: a CSV
with a header whose first column is the BVP, already at the frames' 30 fps, and whose fourth
column is the signal-quality label SQ2. Confirmed there: these names, 30 fps (its configs'
`FS: 30`), column 1 = BVP, column 4 = SQ2, subject = `p{NN}`. The toolbox then deletes the
frames whose SQ2 ≤ 0.3; here no frame is deleted (that would join stretches apart in time and
break the beat-to-beat timing); instead the share of such samples becomes the scenario label
`ppg_quality` ("good" under `LOW_QUALITY_SHARE`, else "low"), and the letter `t` the label `task`
(what each letter stands for is in the dataset's paper, not in the files).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from physllm.data_catalog.record import (VideoRecord, align_to_frames, find_level, frame_times, read_csv_column,
                                         require_records, unreadable_record)
from physllm.data_catalog.video_io import open_video, probe_video
from physllm.errors import DatasetError, VideoError

LAYOUT = "p{NN}_{t}/p{NN}_{t}_rgb/*.bmp + p{NN}_{t}_bvp.csv (header; BVP at 30 Hz in column 1, SQ2 in column 4)"
CITATION = ("J. Joshi, Y. Cho. iBVP Dataset: RGB-Thermal rPPG Dataset with High Resolution Signal Quality "
            "Labels. Electronics 13(7):1334, 2024.")
FPS = 30.0  # rPPG-Toolbox's iBVP configs (FS: 30); the BVP is stored at the same rate
FOLDER_NAME = re.compile(r"^(p\d+)_([a-z0-9]+)$", re.IGNORECASE)
BVP_COLUMN, SQ_COLUMN = 0, 3  # toolbox: labels[:, 0] the wave, labels[:, 3] SQ2
SQ_THRESHOLD = 0.3  # toolbox: samples with SQ2 <= 0.3 are low quality
LOW_QUALITY_SHARE = 0.1  # ours: a video with more low-quality samples than this is labelled "low"
EXPECTED = "a CSV with a header line, BVP in column 1 and SQ2 in column 4, one row per frame"


def load_ppg_at_frames(bvp_path: Path, num_frames: int) -> np.ndarray:
    bvp = read_csv_column(bvp_path, BVP_COLUMN, header=True, expected=EXPECTED)
    return align_to_frames(bvp_path, bvp, frame_times(len(bvp), FPS), frame_times(num_frames, FPS))


def ppg_quality(bvp_path: Path) -> str:
    quality = read_csv_column(bvp_path, SQ_COLUMN, header=True, expected=EXPECTED)
    return "good" if np.mean(quality <= SQ_THRESHOLD) <= LOW_QUALITY_SHARE else "low"


def make_record(folder: Path, dataset: str) -> VideoRecord:
    subject, task = FOLDER_NAME.match(folder.name).groups()
    frames, bvp_path = folder / f"{folder.name}_rgb", folder / f"{folder.name}_bvp.csv"
    if not bvp_path.exists():
        raise DatasetError(f"{folder}: no {bvp_path.name} (expected the BVP and quality labels there)")
    if not frames.is_dir():
        raise DatasetError(f"{folder}: no {frames.name}/ folder (expected the RGB frames as .bmp files there)")
    metadata = {"task": task, "ppg_quality": ppg_quality(bvp_path)}
    try:
        info = probe_video(frames, fps=FPS)
    except VideoError as error:
        return unreadable_record(dataset, subject, task, frames, error)
    return VideoRecord(
        dataset=dataset, subject=subject, session=task, path=frames, fps=FPS, num_frames=info.num_frames,
        open_frames=functools.partial(open_video, frames),
        load_ppg=functools.partial(load_ppg_at_frames, bvp_path, info.num_frames),
        metadata=metadata,
    )


def scan(root: Path, dataset: str = "ibvp") -> list[VideoRecord]:
    """One record per `p{NN}_{t}/` folder."""
    folder = find_level(root, dataset, ("iBVP_Dataset",), LAYOUT)
    sessions = [item for item in folder.iterdir() if item.is_dir() and FOLDER_NAME.match(item.name)]
    return require_records([make_record(item, dataset) for item in sessions], folder, dataset, LAYOUT)
