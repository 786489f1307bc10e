"""MMPD reader (Tang et al., "MMPD: Multi-Domain Mobile Video Physiology Dataset", EMBC 2023;
https://github.com/McJackTang/MMPD_rPPG_dataset).

Layout (the dataset's own, as rPPG-Toolbox's `MMPDLoader` reads it): `subject{N}/p{N}_{k}.mat`,
optionally under `mat_dataset/`. Each MATLAB file holds `video` (T×H×W×3 float in [0, 1], 30 fps;
320×240 in the full set, 80×60 in the mini set), `GT_ppg` (one sample per frame) and labels as
MATLAB char arrays: light, motion, exercise, gender, glasser, hair_cover, makeup, and skin_color
(Fitzpatrick 3–6, numeric). Scanning reads only the array shapes (`scipy.io.whosmat`) and the
small labels; `frames()` loads that one file. Unlike the toolbox's saved ids, the session keeps
the video index (`p{N}_{k}`) so two videos of one subject never collide.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import scipy.io

from physllm.data_catalog.record import VideoRecord, align_to_frames, find_level, frame_times, require_records
from physllm.errors import DatasetError

LAYOUT = "subject{N}/p{N}_{k}.mat (keys video T×H×W×3 in [0,1], GT_ppg, labels), optionally under mat_dataset/"
CITATION = ("J. Tang, K. Chen, Y. Wang, Y. Shi, S. Patel, D. McDuff, X. Liu. MMPD: Multi-Domain Mobile "
            "Video Physiology Dataset. IEEE EMBC, 2023.")
FPS = 30.0  # MMPD's camera rate (dataset paper; the toolbox's MMPD configs use FS: 30)
TEXT_LABELS = ("light", "motion", "exercise", "gender", "glasser", "hair_cover", "makeup")
NUMERIC_LABELS = ("skin_color",)
FILE_NAME = re.compile(r"^p\d+_\d+\.mat$")
# What scipy raises on a file that is not a (complete) MATLAB file: short files fail as IndexError.
MAT_READ_ERRORS = (ValueError, OSError, TypeError, IndexError, scipy.io.matlab.MatReadError)


def _whosmat(path: Path) -> dict[str, tuple[int, ...]]:
    try:
        return {name: shape for name, shape, _ in scipy.io.whosmat(path)}
    except MAT_READ_ERRORS as error:
        raise DatasetError(f"{path}: not a MATLAB .mat file scipy can read ({error}); expected MMPD's "
                           "video, GT_ppg and label variables") from None


def _loadmat(path: Path, names: list[str]) -> dict:
    try:
        return scipy.io.loadmat(path, variable_names=names)
    except MAT_READ_ERRORS as error:
        raise DatasetError(f"{path}: cannot read {', '.join(names)} ({error})") from None


def _video_frames(shapes: dict[str, tuple[int, ...]], path: Path) -> tuple[int, int, int]:
    missing = [key for key in ("video", "GT_ppg") if key not in shapes]
    if missing:
        raise DatasetError(f"{path}: no {', '.join(missing)} variable (expected MMPD's video and GT_ppg)")
    shape = shapes["video"]
    if len(shape) != 4 or shape[3] != 3:
        raise DatasetError(f"{path}: video has shape {shape}; expected T×H×W×3")
    return shape[0], shape[1], shape[2]


def read_labels(path: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, str | int]:
    """The labels as the strings the dataset stores ('LED-low', 'True', …) and skin_color as an int."""
    names = [name for name in TEXT_LABELS + NUMERIC_LABELS if name in shapes]
    if not names:
        return {}
    values = _loadmat(path, names)
    labels: dict[str, str | int] = {name: str(np.asarray(values[name]).ravel()[0]).strip()
                                    for name in TEXT_LABELS if name in values}
    labels.update({name: int(np.asarray(values[name]).ravel()[0]) for name in NUMERIC_LABELS if name in values})
    return labels


def iter_mat_frames(path: Path) -> Iterator[np.ndarray]:
    """The video's frames as RGB uint8, scaled from [0, 1] as the toolbox does (×255), rounded."""
    video = _loadmat(path, ["video"])["video"]
    for frame in video:
        yield np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)


def load_ppg_at_frames(path: Path, num_frames: int) -> np.ndarray:
    ppg = np.asarray(_loadmat(path, ["GT_ppg"])["GT_ppg"], dtype=np.float64).T.reshape(-1)  # toolbox's reshape
    # One PPG sample per frame at 30 Hz (the dataset's recording; the toolbox interpolates to T).
    return align_to_frames(path, ppg, frame_times(len(ppg), FPS), frame_times(num_frames, FPS))


def make_record(path: Path, dataset: str) -> VideoRecord:
    shapes = _whosmat(path)
    num_frames, _, _ = _video_frames(shapes, path)
    return VideoRecord(
        dataset=dataset, subject=path.parent.name, session=path.stem, path=path,
        fps=FPS, num_frames=num_frames,
        open_frames=functools.partial(iter_mat_frames, path),
        load_ppg=functools.partial(load_ppg_at_frames, path, num_frames),
        hr_bpm=None,  # MMPD ships the PPG only
        metadata=read_labels(path, shapes),
    )


def scan(root: Path, dataset: str = "mmpd") -> list[VideoRecord]:
    """One record per `p{N}_{k}.mat` under the `subject{N}/` folders."""
    folder = find_level(root, dataset, ("mat_dataset",), LAYOUT)
    files = [f for subject in folder.iterdir() if subject.is_dir() for f in subject.iterdir() if FILE_NAME.match(f.name)]
    return require_records([make_record(f, dataset) for f in files], folder, dataset, LAYOUT)
