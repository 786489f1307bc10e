"""COHFACE reader (Heusch, Anjos, Marcel, "A reproducible study on remote heart rate measurement",
arXiv:1709.00962, 2017; https://www.idiap.ch/en/dataset/cohface).

Layout, as rPPG-Toolbox's `COHFACELoader` reads it (https://github.com/ubicomplab/rPPG-Toolbox,
dataset/data_loader/COHFACELoader.py; its `main.py` never uses it): `{subject}/{session}/data.avi`
+ `data.hdf5`, sessions 0–3, the PPG in the HDF5 dataset `pulse` (h5py). Confirmed there: the
names and the `pulse` key (the toolbox stretches it onto the frames by count). From the dataset's
paper and page, not the toolbox: 20 fps video, the pulse and a `respiration` belt at 256 Hz with
their time stamps in seconds in `time`, sessions 0–1 under studio light and 2–3 under natural
light. Here the pulse is resampled on `time` when the file has it (else on 256 Hz), and the
lighting is the scenario label `light` (inferred from the session number as the paper describes).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from physllm.data_catalog.record import (VideoRecord, align_to_frames, find_level, frame_times, require_records,
                                         unreadable_record)
from physllm.data_catalog.video_io import open_video, probe_video
from physllm.errors import DatasetError, VideoError

LAYOUT = "{subject}/{0-3}/data.avi + data.hdf5 (pulse at 256 Hz, time in s)"
CITATION = ("G. Heusch, A. Anjos, S. Marcel. A Reproducible Study on Remote Heart Rate Measurement. "
            "arXiv:1709.00962, 2017.")
PULSE_HZ = 256.0  # dataset paper: the BioSemi pulse and respiration sensors at 256 Hz
LIGHT = {"0": "studio", "1": "studio", "2": "natural", "3": "natural"}  # dataset paper


def read_pulse(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The `pulse` signal and its times (s): the file's `time`, or 256 Hz from 0."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            if "pulse" not in handle:
                raise DatasetError(f"{path}: no `pulse` dataset (holds {', '.join(handle) or 'nothing'}); "
                                   "expected COHFACE's pulse, respiration and time")
            pulse = np.asarray(handle["pulse"], dtype=np.float64).ravel()
            times = np.asarray(handle["time"], dtype=np.float64).ravel() if "time" in handle else None
    except OSError as error:
        raise DatasetError(f"{path}: not an HDF5 file h5py can read ({error}); expected COHFACE's data.hdf5") from None
    return pulse, times if times is not None and times.size == pulse.size else frame_times(pulse.size, PULSE_HZ)


def load_ppg_at_frames(path: Path, num_frames: int, fps: float) -> np.ndarray:
    pulse, times = read_pulse(path)
    return align_to_frames(path, pulse, times, frame_times(num_frames, fps))


def make_record(folder: Path, dataset: str) -> VideoRecord:
    video, truth = folder / "data.avi", folder / "data.hdf5"
    if not truth.exists():
        raise DatasetError(f"{folder}: data.avi has no data.hdf5 beside it (expected the pulse there)")
    subject, session = folder.parent.name, folder.name
    try:
        info = probe_video(video)
    except VideoError as error:
        return unreadable_record(dataset, subject, session, video, error)
    return VideoRecord(
        dataset=dataset, subject=subject, session=session, path=video, fps=info.fps, num_frames=info.num_frames,
        open_frames=functools.partial(open_video, video),
        load_ppg=functools.partial(load_ppg_at_frames, truth, info.num_frames, info.fps),
        metadata={"light": LIGHT.get(session, "unknown")},
    )


def scan(root: Path, dataset: str = "cohface") -> list[VideoRecord]:
    """One record per `{subject}/{session}/data.avi`."""
    folder = find_level(root, dataset, ("RawData", "cohface"), LAYOUT)
    sessions = [session for subject in folder.iterdir() if subject.is_dir() and subject.name.isdigit()
                for session in subject.iterdir() if session.is_dir() and (session / "data.avi").exists()]
    return require_records([make_record(session, dataset) for session in sessions], folder, dataset, LAYOUT)
