"""SCAMPS reader (McDuff et al., "SCAMPS: Synthetics for Camera Measurement of Physiological
Signals", NeurIPS Datasets and Benchmarks 2022; https://github.com/danmcduff/scampsdataset).

Layout, as rPPG-Toolbox's `SCAMPSLoader` reads it (https://github.com/ubicomplab/rPPG-Toolbox,
dataset/data_loader/SCAMPSLoader.py): one MATLAB v7.3 file per video, `P{NNNNNN}.mat`, directly
in the root (`ProcessedData/` in its docstring), read there with mat73. Confirmed there: the
keys `Xsub` (the frames, float in [0, 1]), `d_ppg` (the pulse, one sample per frame) and
`d_br` (breathing), 30 fps (its configs' `FS: 30`). A v7.3 file is HDF5 (read here with h5py,
which mat73 itself uses): MATLAB's T×H×W×3 array is stored with its axes reversed, (3, W, H, T),
which is how the SCAMPS README describes `Xsub` ([c, w, h, t]) and what mat73's transpose
undoes. Each file is one synthetic subject and one video; there are no scenario labels in the
files (the SCAMPS release keeps them in separate CSVs, not read here).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator

import numpy as np

from physllm.data_catalog.record import VideoRecord, align_to_frames, find_level, frame_times, require_records
from physllm.errors import DatasetError

LAYOUT = "P{NNNNNN}.mat, MATLAB v7.3 (HDF5): Xsub (3×W×H×T in HDF5, [0,1]), d_ppg (T), d_br (T)"
CITATION = ("D. McDuff, M. Wander, X. Liu, B. L. Hill, J. Hernandez, J. Lester, T. Baltrusaitis. SCAMPS: "
            "Synthetics for Camera Measurement of Physiological Signals. NeurIPS Datasets and Benchmarks, 2022.")
FPS = 30.0  # SCAMPS renders at 30 fps (rPPG-Toolbox SCAMPS configs: FS: 30)
FRAMES_PER_READ = 32  # frames read from the HDF5 file at a time: streamed, never the whole video


def _open(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(f"{path}: not a MATLAB v7.3 (HDF5) file h5py can read ({error}); expected SCAMPS's "
                           "Xsub and d_ppg") from None


def video_shape(path: Path) -> tuple[int, int, int]:
    """(T, H, W) of `Xsub`, checking that `d_ppg` is there too."""
    with _open(path) as handle:
        missing = [key for key in ("Xsub", "d_ppg") if key not in handle]
        if missing:
            raise DatasetError(f"{path}: no {', '.join(missing)} (expected SCAMPS's Xsub frames and d_ppg pulse)")
        shape = handle["Xsub"].shape
    if len(shape) != 4 or shape[0] != 3:
        raise DatasetError(f"{path}: Xsub has HDF5 shape {shape}; expected (3, W, H, T), MATLAB's T×H×W×3")
    return shape[3], shape[2], shape[1]


def iter_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB uint8 (H, W, 3) frames, ×255 from [0, 1] as the toolbox's preprocessing takes them."""
    with _open(path) as handle:
        video = handle["Xsub"]  # (3, W, H, T)
        for start in range(0, video.shape[3], FRAMES_PER_READ):
            block = np.asarray(video[:, :, :, start:start + FRAMES_PER_READ]).transpose(3, 2, 1, 0)  # (t, H, W, 3)
            for frame in block:
                yield np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)


def load_ppg_at_frames(path: Path, num_frames: int) -> np.ndarray:
    with _open(path) as handle:
        ppg = np.asarray(handle["d_ppg"], dtype=np.float64).ravel()
    return align_to_frames(path, ppg, frame_times(len(ppg), FPS), frame_times(num_frames, FPS))


def make_record(path: Path, dataset: str) -> VideoRecord:
    num_frames, _, _ = video_shape(path)
    return VideoRecord(
        dataset=dataset, subject=path.stem, session="video", path=path, fps=FPS, num_frames=num_frames,
        open_frames=functools.partial(iter_frames, path),
        load_ppg=functools.partial(load_ppg_at_frames, path, num_frames),
    )


def scan(root: Path, dataset: str = "scamps") -> list[VideoRecord]:
    """One record per `.mat` file in the root (or its `ProcessedData/`)."""
    folder = find_level(root, dataset, ("ProcessedData",), LAYOUT)
    files = [path for path in folder.iterdir() if path.suffix == ".mat" and path.is_file()]
    return require_records([make_record(path, dataset) for path in files], folder, dataset, LAYOUT)
