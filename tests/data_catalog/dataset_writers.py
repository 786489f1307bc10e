"""Tiny datasets written in exactly the published formats (file names, containers, encodings)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import scipy.io

FPS = 30.0
HEIGHT, WIDTH = 24, 32
PULSE_HZ = 1.2


def pulse(t: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * PULSE_HZ * np.asarray(t))


def frame_rgb(index: int) -> np.ndarray:
    """Frame `index`: a flat colour whose red level encodes the index (order checks), blue fixed."""
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    frame[..., 0] = (10 + 5 * index) % 256
    frame[..., 2] = 200
    return frame


def write_avi(path: Path, num_frames: int, fps: float = FPS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    for i in range(num_frames):
        writer.write(cv2.cvtColor(frame_rgb(i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_ubfc_subject(root: Path, name: str, num_frames: int, gt_rate: float = FPS, hr: float = 72.0) -> Path:
    """`name/vid.avi` + `ground_truth.txt` (PPG, HR, time stamps in s), the GT sampled at `gt_rate`."""
    folder = root / name
    write_avi(folder / "vid.avi", num_frames)
    times = np.arange(round(num_frames / FPS * gt_rate)) / gt_rate
    rows = [pulse(times), np.full(len(times), hr), times]
    (folder / "ground_truth.txt").write_text("\n".join(" ".join(f"{v:.10e}" for v in row) for row in rows) + "\n")
    return folder


def write_pure_session(root: Path, session: str, num_frames: int, start_ns: int = 1_392_643_993_642_815_000) -> Path:
    """`NN-MM/NN-MM/Image<ns>.png` + `NN-MM/NN-MM.json`; the oximeter starts 0.1 s before the camera."""
    folder, frames = root / session, root / session / session
    frames.mkdir(parents=True)
    image_ns = start_ns + np.round(np.arange(num_frames) * 1e9 / FPS).astype(np.int64)
    for i, stamp in enumerate(image_ns):
        cv2.imwrite(str(frames / f"Image{stamp}.png"), cv2.cvtColor(frame_rgb(i), cv2.COLOR_RGB2BGR))
    wave_ns = start_ns - 100_000_000 + np.round(np.arange(int(num_frames / FPS * 60) + 12) * 1e9 / 60).astype(np.int64)
    wave_t = (wave_ns - start_ns) * 1e-9
    content = {
        "/FullPackage": [{"Timestamp": int(ns), "Value": {"waveform": float(w), "signalStrength": 4,
                                                          "pulseRate": 66, "o2saturation": 98}}
                         for ns, w in zip(wave_ns, pulse(wave_t))],
        "/Image": [{"Timestamp": int(ns)} for ns in image_ns],
    }
    (folder / f"{session}.json").write_text(json.dumps(content))
    return folder


def write_mmpd_video(root: Path, subject: int, index: int, num_frames: int, **labels) -> Path:
    """`subject{N}/p{N}_{k}.mat`: video T×H×W×3 in [0,1], GT_ppg (1, T), labels as char arrays."""
    path = root / f"subject{subject}" / f"p{subject}_{index}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    video = np.stack([frame_rgb(i) for i in range(num_frames)]).astype(np.float64) / 255.0
    content = {"video": video, "GT_ppg": pulse(np.arange(num_frames) / FPS)[None, :],
               "light": "LED-low", "motion": "Stationary", "exercise": "False", "skin_color": np.array([[3]]),
               "gender": "male", "glasser": "False", "hair_cover": "False", "makeup": "False"}
    content.update(labels)
    scipy.io.savemat(path, content)
    return path


def write_buaa_video(root: Path, subject: int, lux: str, name: str, num_frames: int, pulse_bpm: float = 70.0) -> Path:
    """`Sub NN/lux L/luxL_NAME.avi` + `luxL_NAME_wave.csv` (PPG at 60 Hz) + `luxL_NAME.csv` (PULSE)."""
    folder = root / f"Sub {subject:02d}" / f"lux {lux}"
    stem = f"lux{lux}_{name}"
    write_avi(folder / f"{stem}.avi", num_frames)
    np.savetxt(folder / f"{stem}_wave.csv", pulse(np.arange(int(num_frames / FPS * 60)) / 60.0))
    (folder / f"{stem}.csv").write_text("TIME,PULSE,SPO2\n" + "".join(f"{i},{pulse_bpm},98\n" for i in range(5)))
    return folder
