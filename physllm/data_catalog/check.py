"""`physllm datasets check`: a dataset folder read through end to end.

`check_dataset` opens every video, decodes every frame (a truncated file shows only there), loads
each ground truth at the frame times, and returns what the folder holds (the CLI's table of it:
physllm/tables.py). Any problem raises the DatasetError / VideoError of the reader, naming the
file and what was expected. `DatasetsCheck` is the command's options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physllm.data_catalog import DatasetInfo, get_dataset, summarize
from physllm.data_catalog.record import VideoRecord
from physllm.config import opt
from physllm.data_catalog.video_io import FRAME_COUNT_SLACK
from physllm.errors import DatasetError, VideoError
from physllm.progress import progress_bar


@dataclass
class DatasetsCheck:
    """`physllm datasets check`: which dataset, where."""

    dataset: str = opt("Dataset name (see `physllm datasets list`).")
    root: Path = opt("The dataset's root folder, in its published layout.")


@dataclass
class DatasetCheck:
    info: DatasetInfo
    root: Path
    summary: dict  # data_catalog.summarize of the records
    frame_sizes: list[tuple[int, int]]  # (H, W), each size found once


def check_record(record: VideoRecord) -> tuple[int, int]:
    """Decode every frame and load the ground truth; return the frame size (H, W)."""
    sizes, decoded = set(), 0
    for frame in record.frames():
        sizes.add(frame.shape[:2])
        decoded += 1
    if abs(decoded - record.num_frames) > FRAME_COUNT_SLACK:
        raise VideoError(f"{record.path}: decoded {decoded} frames but the header says {record.num_frames}")
    if len(sizes) > 1:
        raise VideoError(f"{record.path}: frames of several sizes {sorted(sizes)}; expected one size")
    ppg = record.ppg()
    if ppg.shape != (record.num_frames,) or not np.all(np.isfinite(ppg)):
        raise DatasetError(f"{record.path}: ground truth gave {ppg.shape} values (finite: {np.isfinite(ppg).all()}); "
                           f"expected {record.num_frames} finite values, one per frame")
    return sizes.pop()


def check_dataset(dataset: str, root: Path) -> DatasetCheck:
    info = get_dataset(dataset)
    records = info.scan(Path(root))
    sizes = set()
    with progress_bar(f"checking {info.name}", total=len(records)) as advance:
        for record in records:
            sizes.add(check_record(record))
            advance()
    return DatasetCheck(info, Path(root), summarize(records), sorted(sizes))
