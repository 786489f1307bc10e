"""BP4D+ reader (Zhang et al., "Multimodal Spontaneous Emotion Corpus for Human Behavior Analysis",
CVPR 2016; https://www.cs.binghamton.edu/~lijun/Research/3DFE/3DFE_Analysis.html).

Layout, as rPPG-Toolbox's `BP4DPlusLoader` documents and reads it (https://github.com/ubicomplab/
rPPG-Toolbox, dataset/data_loader/BP4DPlusLoader.py; the dataset's user guide is not public):
  `2D+3D/{subject}.zip`                       the frames, `{subject}/{Tk}/*.jpg` inside the zip
  `Physiology/{subject}/{Tk}/BP_mmHg.txt`     the blood-pressure wave, one value per line: the label
  `Physiology/{subject}/{Tk}/Pulse Rate_BPM.txt`  the monitor's pulse rate, one value per line
Subjects are `F{NNN}` / `M{NNN}`, tasks T1–T10; the toolbox lists the trials from `Physiology/`,
skips F042/T11 (listed but absent) and uses 25 fps (its BP4D+ configs' `FS: 25`). Confirmed
there: all of the above, and that the wave is stretched onto the frames by count. Inferred, not
documented publicly: the wave spans the video (the rate is in the user guide), so it is stretched
here too (no length check is possible); the frames of a task are its `.jpg` files in numeric
order. Frames are decoded from the zip one at a time (the toolbox decodes the whole task). The
task and the subject's sex (the first letter) are the scenario labels `task` and `sex`.
"""

from __future__ import annotations

import functools
import re
import zipfile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from physllm.data_catalog.record import (VideoRecord, align_to_frames, find_level, frame_times, natural_key,
                                         read_csv_column, require_records, unreadable_record)
from physllm.errors import DatasetError, VideoError

LAYOUT = "2D+3D/{F|M}{NNN}.zip ({subject}/T{k}/*.jpg) + Physiology/{subject}/T{k}/BP_mmHg.txt (+ Pulse Rate_BPM.txt)"
CITATION = ("Z. Zhang, J. M. Girard, Y. Wu, X. Zhang, P. Liu, U. Ciftci, S. Canavan, M. Reale, A. Horowitz, "
            "H. Yang, J. F. Cohn, Q. Ji, L. Yin. Multimodal Spontaneous Emotion Corpus for Human Behavior "
            "Analysis. CVPR, 2016.")
FPS = 25.0  # rPPG-Toolbox's BP4D+ configs (FS: 25)
SUBJECT, TASK = re.compile(r"^[FM]\d+$"), re.compile(r"^T\d+$")
WAVE_NAME, HR_NAME = "BP_mmHg.txt", "Pulse Rate_BPM.txt"


def task_frames(archive: Path, subject: str, task: str) -> list[str]:
    """The zip members that are this task's frames, in numeric order."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = zipped.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise VideoError(f"{archive}: not a zip file Python can read ({error}); expected BP4D+'s frames") from None
    prefix = f"{subject}/{task}/"
    return sorted((name for name in names if name.startswith(prefix) and name.lower().endswith(".jpg")),
                  key=natural_key)


def iter_zip_frames(archive: Path, members: list[str]) -> Iterator[np.ndarray]:
    with zipfile.ZipFile(archive) as zipped:
        for name in members:
            frame = cv2.imdecode(np.frombuffer(zipped.read(name), np.uint8), cv2.IMREAD_COLOR)
            if frame is None:
                raise VideoError(f"{archive}: {name} is not a decodable JPEG frame")
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def load_ppg_at_frames(wave_path: Path, num_frames: int) -> np.ndarray:
    wave = read_csv_column(wave_path, 0, header=False, expected="the blood-pressure wave, one number per line")
    # The wave's rate is in the non-public user guide: taken to span the video (module docstring).
    wave_times = np.arange(len(wave)) * (num_frames / FPS) / len(wave)
    return align_to_frames(wave_path, wave, wave_times, frame_times(num_frames, FPS))


def mean_hr(path: Path) -> float | None:
    try:
        hr = read_csv_column(path, 0, header=False, expected="one pulse rate per line")
    except DatasetError:
        return None
    valid = hr[hr > 0]
    return float(valid.mean()) if valid.size else None


def make_record(root: Path, trial: Path, dataset: str) -> VideoRecord:
    subject, task = trial.parent.name, trial.name
    archive, wave_path = root / "2D+3D" / f"{subject}.zip", trial / WAVE_NAME
    if not wave_path.exists():
        raise DatasetError(f"{trial}: no {WAVE_NAME} (expected the blood-pressure wave there)")
    metadata = {"task": task, "sex": subject[0]}
    try:
        if not archive.exists():
            raise VideoError(f"{archive}: no such file (expected the frames of {subject} in this zip)")
        members = task_frames(archive, subject, task)
        if not members:
            raise VideoError(f"{archive}: no {subject}/{task}/*.jpg frames inside")
    except VideoError as error:
        return unreadable_record(dataset, subject, task, archive, error)
    return VideoRecord(
        dataset=dataset, subject=subject, session=task, path=archive, fps=FPS, num_frames=len(members),
        open_frames=functools.partial(iter_zip_frames, archive, members),
        load_ppg=functools.partial(load_ppg_at_frames, wave_path, len(members)),
        hr_bpm=mean_hr(trial / HR_NAME), metadata=metadata,
    )


def scan(root: Path, dataset: str = "bp4d-plus") -> list[VideoRecord]:
    """One record per `Physiology/{subject}/T{k}/` trial, as the toolbox lists them."""
    folder = find_level(root, dataset, ("RawData",), LAYOUT)
    physiology = folder / "Physiology"
    if not physiology.is_dir():
        raise DatasetError(f"{folder}: no Physiology/ folder (expected {LAYOUT})")
    trials = [trial for subject in physiology.iterdir() if subject.is_dir() and SUBJECT.match(subject.name)
              for trial in subject.iterdir() if trial.is_dir() and TASK.match(trial.name)]
    return require_records([make_record(folder, trial, dataset) for trial in trials], folder, dataset, LAYOUT)
