"""UBFC-PHYS reader (Meziati Sabour et al., "UBFC-Phys: A Multimodal Database For Psychophysiological
Studies Of Social Stress", IEEE Trans. Affective Computing 2021; https://sites.google.com/view/ybenezeth/ubfc-phys).

Layout, as rPPG-Toolbox's `UBFCPHYSLoader` reads it (https://github.com/ubicomplab/rPPG-Toolbox,
dataset/data_loader/UBFCPHYSLoader.py): `s{N}/vid_s{N}_T{k}.avi` + `bvp_s{N}_T{k}.csv`, k = 1–3,
optionally under `RawData/`. Confirmed there: the file names, the BVP as one value per CSV row
(`row[0]`), 35 fps (its configs' `FS: 35`), the three tasks and the exclusion list of its UBFC-PHYS
configs (configs/infer_configs/PURE_UBFC-PHYS_PHYSNET_BASIC.yaml), videos whose BVP the toolbox
leaves out. From the dataset's paper, not the toolbox: the BVP is an Empatica E4's at 64 Hz
(the toolbox stretches it onto the frames by count instead), and the tasks are T1 rest, T2
speech, T3 arithmetic. Here the BVP is resampled on 64 Hz times, and a BVP whose span differs
from the video's by more than `record.GT_SPAN_TOLERANCE_S` is refused rather than stretched.
The exclusion list is kept as the scenario label `toolbox_excluded` (yes/no), so results are
reported with and without those videos; the task is the label `task`.
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

LAYOUT = "s{N}/vid_s{N}_T{1,2,3}.avi + bvp_s{N}_T{k}.csv (BVP at 64 Hz, one value per row)"
CITATION = ("R. Meziati Sabour, Y. Benezeth, P. De Oliveira, J. Chappé, F. Yang. UBFC-Phys: A Multimodal "
            "Database For Psychophysiological Studies Of Social Stress. IEEE Trans. Affective Computing, 2021.")
BVP_HZ = 64.0  # Empatica E4's BVP rate (dataset paper)
VIDEO_NAME = re.compile(r"^vid_(s\d+)_(T\d)\.avi$")
TASKS = {"T1": "rest", "T2": "speech", "T3": "arithmetic"}  # dataset paper
# rPPG-Toolbox's EXCLUSION_LIST for UBFC-PHYS (configs/infer_configs/PURE_UBFC-PHYS_PHYSNET_BASIC.yaml)
TOOLBOX_EXCLUDED = frozenset(
    [f"s{n}_T1" for n in (3, 8, 9, 26, 28, 30, 31, 32, 33, 40, 52, 53, 54, 56)]
    + [f"s{n}_T2" for n in (1, 4, 6, 8, 9, 11, 12, 13, 14, 19, 21, 22, 25, 26, 27, 28, 31, 32, 33, 35, 38, 39,
                            41, 42, 45, 47, 48, 52, 53, 55)]
    + [f"s{n}_T3" for n in (5, 8, 9, 10, 13, 14, 17, 22, 25, 26, 28, 30, 32, 33, 35, 37, 40, 47, 48, 49, 50,
                            52, 53)])


def load_ppg_at_frames(bvp_path: Path, num_frames: int, fps: float) -> np.ndarray:
    bvp = read_csv_column(bvp_path, 0, header=False, expected="the BVP at 64 Hz, one number per row")
    return align_to_frames(bvp_path, bvp, frame_times(len(bvp), BVP_HZ), frame_times(num_frames, fps))


def make_record(video: Path, dataset: str) -> VideoRecord:
    subject, task = VIDEO_NAME.match(video.name).groups()
    bvp_path = video.with_name(f"bvp_{subject}_{task}.csv")
    if not bvp_path.exists():
        raise DatasetError(f"{video}: no {bvp_path.name} beside it (expected the BVP as bvp_{subject}_{task}.csv)")
    metadata = {"task": task, "toolbox_excluded": "yes" if f"{subject}_{task}" in TOOLBOX_EXCLUDED else "no"}
    try:
        info = probe_video(video)
    except VideoError as error:
        return unreadable_record(dataset, subject, task, video, error)
    return VideoRecord(
        dataset=dataset, subject=subject, session=task, path=video, fps=info.fps, num_frames=info.num_frames,
        open_frames=functools.partial(open_video, video),
        load_ppg=functools.partial(load_ppg_at_frames, bvp_path, info.num_frames, info.fps),
        metadata=metadata,
    )


def scan(root: Path, dataset: str = "ubfc-phys") -> list[VideoRecord]:
    """One record per `vid_s{N}_T{k}.avi` in the `s{N}/` folders."""
    folder = find_level(root, dataset, ("RawData",), LAYOUT)
    videos = [video for subject in folder.iterdir() if subject.is_dir() and re.fullmatch(r"s\d+", subject.name)
              for video in subject.iterdir() if VIDEO_NAME.match(video.name)]
    return require_records([make_record(video, dataset) for video in videos], folder, dataset, LAYOUT)
