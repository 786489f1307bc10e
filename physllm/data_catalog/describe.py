"""`physllm datasets list` and `physllm datasets check`: the catalog and a dataset folder, as tables.

`check` opens every video, decodes every frame (a truncated file shows only there), loads each
ground truth at the frame times, and prints what the folder holds. Any problem raises the
DatasetError / VideoError of the reader, naming the file and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from physllm.data_catalog import DATASETS, get_dataset, summarize
from physllm.data_catalog.record import VideoRecord
from physllm.data_catalog.video_io import FRAME_COUNT_SLACK
from physllm.errors import DatasetError, VideoError
from physllm.progress import progress_bar

console = Console(soft_wrap=True)


def print_dataset_list() -> None:
    table = Table(title="physllm datasets", show_lines=True)
    for column in ("name", "title", "layout", "citation"):
        table.add_column(column, overflow="fold")
    for info in DATASETS.values():
        table.add_row(info.name, info.title, info.layout, info.citation)
    console.print(table)


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


def print_dataset_check(dataset: str, root: Path) -> None:
    info = get_dataset(dataset)
    records = info.scan(Path(root))
    sizes = set()
    with progress_bar(f"checking {info.name}", total=len(records)) as advance:
        for record in records:
            sizes.add(check_record(record))
            advance()
    summary = summarize(records)
    table = Table(title=f"{info.title} at {root}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("subjects", str(summary["subjects"]))
    table.add_row("sessions (videos)", str(summary["sessions"]))
    table.add_row("minutes of video", f"{summary['minutes']:.1f}")
    table.add_row("fps", ", ".join(f"{fps:g}" for fps in summary["fps"]))
    table.add_row("ground truth", info.ground_truth)
    table.add_row("videos with dataset HR", f"{summary['with_hr']} of {summary['sessions']}")
    table.add_row("frame size (H×W)", ", ".join(f"{h}×{w}" for h, w in sorted(sizes)))
    for key, counts in summary["labels"].items():
        table.add_row(f"label: {key}", ", ".join(f"{value} ({count})" for value, count in counts.items()))
    console.print(table)
