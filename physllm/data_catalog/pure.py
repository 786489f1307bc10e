"""PURE reader (Stricker, Müller, Gross, "Non-contact video-based pulse rate measurement on a
mobile service robot", IEEE RO-MAN 2014; https://www.tu-ilmenau.de/neurob/data-sets-code/pulse).

Layout (the dataset's own, as rPPG-Toolbox's `PURELoader` reads it): `NN-MM/NN-MM/Image<ns>.png`
frames and `NN-MM/NN-MM.json`, whose `/FullPackage` entries carry the pulse oximeter at 60 Hz
(`Timestamp` in ns, `Value.waveform`, `Value.pulseRate`) and whose `/Image` entries carry each
frame's `Timestamp`. Subject = NN, session = NN-MM. The root may hold a `RawData/` level.
The toolbox stretches the waveform onto the frame count, ignoring the time stamps; here it is
interpolated at each image's own time stamp, on the clock the two share.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physllm.data_catalog.record import VideoRecord, align_to_frames, find_level, require_records
from physllm.data_catalog.video_io import list_image_frames, open_video
from physllm.errors import DatasetError

LAYOUT = "NN-MM/NN-MM/Image<timestamp>.png frames + NN-MM/NN-MM.json (/FullPackage 60 Hz, /Image time stamps)"
CITATION = ("R. Stricker, S. Müller, H.-M. Gross. Non-contact video-based pulse rate measurement on a "
            "mobile service robot. IEEE RO-MAN, 2014.")
SESSION_NAME = re.compile(r"^\d{2}-\d{2}$")
NS = 1e-9


@dataclass(frozen=True)
class PureTruth:
    wave_times: np.ndarray  # seconds, the shared clock
    waveform: np.ndarray
    pulse_rate: np.ndarray
    image_times: np.ndarray  # seconds, one per frame


def read_pure_json(path: Path) -> PureTruth:
    try:
        content = json.loads(path.read_text())
        packages, images = content["/FullPackage"], content["/Image"]
        return PureTruth(
            wave_times=np.array([p["Timestamp"] for p in packages], dtype=np.float64) * NS,
            waveform=np.array([p["Value"]["waveform"] for p in packages], dtype=np.float64),
            pulse_rate=np.array([p["Value"]["pulseRate"] for p in packages], dtype=np.float64),
            image_times=np.array([i["Timestamp"] for i in images], dtype=np.float64) * NS,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{path}: not a PURE ground-truth JSON ({type(error).__name__}: {error}); expected "
                           '"/FullPackage" entries with Timestamp and Value.waveform/pulseRate, '
                           'and "/Image" entries with Timestamp') from None


def _frame_times(json_path: Path, truth: PureTruth, num_images: int) -> np.ndarray:
    if num_images < 2:
        raise DatasetError(f"{json_path.with_suffix('')}: {num_images} frame image(s); expected a video of at least 2 frames")
    if len(truth.image_times) != num_images:
        raise DatasetError(f"{json_path}: {len(truth.image_times)} /Image time stamps for {num_images} PNG frames "
                           "in its frame folder; expected one time stamp per frame")
    return truth.image_times


def load_ppg_at_frames(json_path: Path, num_images: int) -> np.ndarray:
    truth = read_pure_json(json_path)
    times = _frame_times(json_path, truth, num_images)
    return align_to_frames(json_path, truth.waveform, truth.wave_times, times, same_start=False)


def make_record(session_dir: Path, dataset: str) -> VideoRecord:
    frames_dir, json_path = session_dir / session_dir.name, session_dir / f"{session_dir.name}.json"
    if not json_path.exists():
        raise DatasetError(f"{session_dir}: missing {json_path.name} (expected the frame folder and its JSON side by side)")
    num_images = len(list_image_frames(frames_dir))
    truth = read_pure_json(json_path)
    times = _frame_times(json_path, truth, num_images)
    fps = (num_images - 1) / (times[-1] - times[0])  # measured from the stamps, ~30 (PURE's camera)
    valid_hr = truth.pulse_rate[truth.pulse_rate > 0]
    return VideoRecord(
        dataset=dataset, subject=session_dir.name[:2], session=session_dir.name, path=frames_dir,
        fps=float(fps), num_frames=num_images,
        open_frames=functools.partial(open_video, frames_dir),
        load_ppg=functools.partial(load_ppg_at_frames, json_path, num_images),
        hr_bpm=float(valid_hr.mean()) if len(valid_hr) else None,
    )


def scan(root: Path, dataset: str = "pure") -> list[VideoRecord]:
    """One record per `NN-MM` session folder holding its `NN-MM/` frame folder."""
    folder = find_level(root, dataset, ("RawData",), LAYOUT)
    sessions = [d for d in folder.iterdir() if d.is_dir() and SESSION_NAME.match(d.name) and (d / d.name).is_dir()]
    return require_records([make_record(d, dataset) for d in sessions], folder, dataset, LAYOUT)
