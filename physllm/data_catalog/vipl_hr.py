"""VIPL-HR reader (Niu, Han, Shan, Chen, "VIPL-HR: A Multi-modal Database for Pulse Estimation from
Less-constrained Face Video", ACCV 2018; Niu et al., "RhythmNet", IEEE TIP 2020;
https://vipl.ict.ac.cn/resources/databases/201811/t20181129_32716.html).

rPPG-Toolbox has no loader in its main branch (its issues #102 and #238 ask for one). The layout
here is the dataset release's, as public loaders written against it read it (a `VIPLHRv1Loader`
in the toolbox's style, and the BYHE and rppg repositories' VIPL preprocessing):
  `p{N}/v{M}/source{K}/video.avi`   one video per subject, scenario v1–v9, device source1–4
  `p{N}/v{M}/source{K}/wave.csv`    the PPG: a header line, then one value per line
  `p{N}/v{M}/source{K}/gt_HR.csv`   the oximeter's HR: a header line, then one value per line
  `p{N}/v{M}/source{K}/time.txt`    frame time stamps in ms (present for some devices)
Confirmed by those loaders: the names, the header line of wave.csv, the four sources (source4
the near-infrared camera). Inferred, as they do, not documented in the files: the PPG spans the
video, so it is stretched onto the frames by count (no length check is possible); the frame
rate is the time stamps' when `time.txt` has one per frame (the phone's rate varies), else the
video header's. The scenario (v1–v9) and the device (source1–4) are the scenario labels
`scenario` and `source`; what each scenario number stands for is in the paper, not the files.
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

LAYOUT = "p{N}/v{1-9}/source{1-4}/video.avi + wave.csv (header, one PPG value per line) + gt_HR.csv"
CITATION = ("X. Niu, H. Han, S. Shan, X. Chen. VIPL-HR: A Multi-modal Database for Pulse Estimation from "
            "Less-constrained Face Video. ACCV, 2018.")
SUBJECT, SCENARIO, SOURCE = re.compile(r"^p\d+$"), re.compile(r"^v\d+$"), re.compile(r"^source\d+$")


def load_ppg_at_frames(wave_path: Path, num_frames: int, fps: float) -> np.ndarray:
    wave = read_csv_column(wave_path, 0, header=True, expected="a header line, then one PPG value per line")
    # Undocumented sample rate: the wave is taken to span the video (see the module docstring).
    wave_times = np.arange(len(wave)) * (num_frames / fps) / len(wave)
    return align_to_frames(wave_path, wave, wave_times, frame_times(num_frames, fps))


def mean_hr(path: Path) -> float | None:
    """Mean of gt_HR.csv's readings > 0, or None when it is absent or unreadable."""
    try:
        hr = read_csv_column(path, 0, header=True, expected="a header line, then one HR per line")
    except DatasetError:
        return None
    valid = hr[hr > 0]
    return float(valid.mean()) if valid.size else None


def stamped_fps(time_path: Path, num_frames: int) -> float | None:
    """Frames per second from `time.txt` (ms per frame), when it has one stamp per frame."""
    try:
        stamps = np.loadtxt(time_path, ndmin=1, dtype=np.float64)
    except (OSError, ValueError):
        return None
    if stamps.ndim != 1 or stamps.size != num_frames or num_frames < 2 or not stamps[-1] > stamps[0]:
        return None
    return float((num_frames - 1) * 1000.0 / (stamps[-1] - stamps[0]))


def make_record(folder: Path, dataset: str) -> VideoRecord:
    video, wave_path = folder / "video.avi", folder / "wave.csv"
    subject, scenario, source = folder.parent.parent.name, folder.parent.name, folder.name
    if not wave_path.exists():
        raise DatasetError(f"{folder}: video.avi has no wave.csv beside it (expected the PPG there)")
    session, metadata = f"{scenario}-{source}", {"scenario": scenario, "source": source}
    try:
        info = probe_video(video)
    except VideoError as error:
        return unreadable_record(dataset, subject, session, video, error)
    fps = stamped_fps(folder / "time.txt", info.num_frames) or info.fps
    return VideoRecord(
        dataset=dataset, subject=subject, session=session, path=video, fps=fps, num_frames=info.num_frames,
        open_frames=functools.partial(open_video, video),
        load_ppg=functools.partial(load_ppg_at_frames, wave_path, info.num_frames, fps),
        hr_bpm=mean_hr(folder / "gt_HR.csv"), metadata=metadata,
    )


def scan(root: Path, dataset: str = "vipl-hr") -> list[VideoRecord]:
    """One record per `p{N}/v{M}/source{K}/video.avi`."""
    folder = find_level(root, dataset, ("data", "RawData"), LAYOUT)
    leaves = [source for subject in folder.iterdir() if subject.is_dir() and SUBJECT.match(subject.name)
              for scenario in subject.iterdir() if scenario.is_dir() and SCENARIO.match(scenario.name)
              for source in scenario.iterdir()
              if source.is_dir() and SOURCE.match(source.name) and (source / "video.avi").exists()]
    return require_records([make_record(leaf, dataset) for leaf in leaves], folder, dataset, LAYOUT)
