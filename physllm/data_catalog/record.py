"""`VideoRecord`: one video of a dataset, with lazy loaders for its frames and ground truth.

The contract every dataset reader returns (docs/ARCHITECTURE.md, "data_catalog/"). Frames are
streamed by `open_frames()`, never held whole (rPPG-Toolbox's out-of-memory pitfall); the
ground-truth PPG comes back already resampled to the video's frame times. The loaders are
`functools.partial`s of module functions, so records pickle (Ray ships them to workers).
Also here: the helpers every reader shares (numeric sort, ground-truth alignment, root lookup).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from physllm.errors import DatasetError, PhysllmError


@dataclass(frozen=True)
class VideoRecord:
    dataset: str
    subject: str
    session: str
    path: Path  # the video file, or the folder of frame images
    fps: float
    num_frames: int
    open_frames: Callable[[], Iterator[np.ndarray]] = field(repr=False, compare=False)  # RGB uint8 (H, W, 3)
    load_ppg: Callable[[], np.ndarray] = field(repr=False, compare=False)  # float32[num_frames]
    hr_bpm: float | None = None  # the dataset's own mean HR, where it ships one
    metadata: dict[str, str | int | float] = field(default_factory=dict, compare=False)

    @property
    def video_id(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.session}"

    def frames(self) -> Iterator[np.ndarray]:
        return self.open_frames()

    def ppg(self) -> np.ndarray:
        return self.load_ppg()

    def source_paths(self) -> list[Path]:
        """The files and folders this video reads: its path and every path its loaders are
        bound to (the ground truth; they are partials, see above). A job that copies a dataset
        to a node copies these for this video."""
        bound = [value for loader in (self.open_frames, self.load_ppg)
                 for value in (*getattr(loader, "args", ()), *getattr(loader, "keywords", {}).values())]
        return list(dict.fromkeys([Path(self.path), *(value for value in bound if isinstance(value, Path))]))


def _raise(error: Exception):
    raise error


def unreadable_record(dataset: str, subject: str, session: str, path: Path,
                      error: PhysllmError) -> VideoRecord:
    """A video that cannot even be probed. It stays listed, so a batch job records it as failed
    with this reason and goes on with the others; reading its frames or ground truth raises it."""
    fail = functools.partial(_raise, error)
    return VideoRecord(dataset=dataset, subject=subject, session=session, path=path, fps=0.0,
                       num_frames=0, open_frames=fail, load_ppg=fail)


def natural_key(text: str) -> tuple:
    """Sort key that orders digit runs by value: subject2 < subject10 (never glob order)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text)))


def record_sort_key(record: VideoRecord) -> tuple:
    return natural_key(record.subject), natural_key(record.session)


# A ground truth may start or stop a little apart from the camera (separate sensor clocks, a
# capture that drops its first frames); beyond this, which sample belongs to which frame is unknown.
GT_SPAN_TOLERANCE_S = 0.5


def align_to_frames(gt_path: Path, values: np.ndarray, sample_times: np.ndarray, frame_times: np.ndarray,
                    same_start: bool = True) -> np.ndarray:
    """Resample a ground-truth signal onto the frame times (both in seconds).

    Linear interpolation, as rPPG-Toolbox's `np.interp` resampling, but on real times rather than
    stretching by count. With `same_start` the two clocks are only known to start together
    (UBFC-rPPG, MMPD: both are rebased to 0), so the spans must match; otherwise they share one
    clock (PURE's nanosecond stamps) and the signal need only cover the frames. Raises
    DatasetError naming `gt_path` for a signal that is not finite, times that do not increase, or
    spans that differ by more than GT_SPAN_TOLERANCE_S.
    """
    values = np.asarray(values, dtype=np.float64)
    sample_times = np.asarray(sample_times, dtype=np.float64)
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if len(values) < 2 or len(values) != len(sample_times):
        raise DatasetError(f"{gt_path}: {len(values)} ground-truth values for {len(sample_times)} time stamps "
                           "(expected one time stamp per value, at least two values)")
    if not np.all(np.isfinite(values)):
        raise DatasetError(f"{gt_path}: the ground-truth signal holds NaN or infinite values")
    if not np.all(np.diff(sample_times) > 0):
        raise DatasetError(f"{gt_path}: ground-truth time stamps do not increase strictly")
    if same_start:
        sample_times, frame_times = sample_times - sample_times[0], frame_times - frame_times[0]
    gt_end, video_end = _end_of(sample_times), _end_of(frame_times)
    late_start = sample_times[0] - frame_times[0]
    short_end = video_end - gt_end if not same_start else abs(video_end - gt_end)
    if late_start > GT_SPAN_TOLERANCE_S or short_end > GT_SPAN_TOLERANCE_S:
        raise DatasetError(
            f"{gt_path}: the ground truth has {len(values)} samples over {sample_times[0]:.2f}-{gt_end:.2f} s "
            f"but its video has {len(frame_times)} frames over {frame_times[0]:.2f}-{video_end:.2f} s; expected "
            f"the ground truth to span the video within {GT_SPAN_TOLERANCE_S} s")
    # np.interp holds the end values outside the sampled span, as the toolbox's resampling does.
    return np.interp(frame_times, sample_times, values).astype(np.float32)


def _end_of(times: np.ndarray) -> float:
    """When the last sample's interval ends: its time plus the typical step."""
    return float(times[-1] + (np.median(np.diff(times)) if len(times) > 1 else 0.0))


def frame_times(num_frames: int, fps: float) -> np.ndarray:
    return np.arange(num_frames) / fps


def find_level(root: Path, dataset: str, levels: tuple[str, ...], expected: str) -> Path:
    """The folder that holds a dataset's items: `root` itself or one of its published
    wrapper folders (`RawData/`, `DATASET_2/`, `mat_dataset/`). Missing root → DatasetError."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected the {dataset} root: {expected})")
    for level in levels:
        if (root / level).is_dir():
            return root / level
    return root


def require_records(records: list[VideoRecord], root: Path, dataset: str, expected: str) -> list[VideoRecord]:
    if not records:
        raise DatasetError(f"{root}: no {dataset} videos found (expected {expected})")
    return sorted(records, key=record_sort_key)


def read_csv_column(path: Path, column: int, header: bool, expected: str) -> np.ndarray:
    """One numeric column of a CSV file (after its header line, if it has one), as float64.

    Used for the one-value-per-row PPG files of UBFC-PHYS, iBVP and VIPL-HR; `expected` says in
    the error what the file should hold.
    """
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        rows = [line.split(",") for line in lines[1 if header else 0:]]
        values = np.array([float(row[column]) for row in rows], dtype=np.float64)
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as error:
        raise DatasetError(f"{path}: cannot read column {column + 1} ({error}); expected {expected}") from None
    if values.size < 2:
        raise DatasetError(f"{path}: {values.size} values; expected {expected}")
    return values
