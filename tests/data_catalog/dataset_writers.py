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


def write_csv_column(path: Path, values, header: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + [f"{v:.8f}" for v in values]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ubfc_phys_video(root: Path, subject: int, task: int, num_frames: int, fps: float = 35.0) -> Path:
    """`s{N}/vid_s{N}_T{k}.avi` + `bvp_s{N}_T{k}.csv` (BVP at 64 Hz, one value per row, no header)."""
    folder = root / f"s{subject}"
    write_avi(folder / f"vid_s{subject}_T{task}.avi", num_frames, fps)
    write_csv_column(folder / f"bvp_s{subject}_T{task}.csv", pulse(np.arange(round(num_frames / fps * 64)) / 64.0))
    return folder


def write_ibvp_session(root: Path, subject: int, task: str, num_frames: int, low_quality: int = 0) -> Path:
    """`p{NN}_{t}/p{NN}_{t}_rgb/*.bmp` + `p{NN}_{t}_bvp.csv` (header; BVP, ?, ?, SQ2 per frame) + a thermal
    `.raw` frame (uint16 640×512) that the reader must leave alone."""
    name = f"p{subject:02d}_{task}"
    folder = root / name
    (folder / f"{name}_rgb").mkdir(parents=True)
    (folder / f"{name}_t").mkdir()
    for i in range(num_frames):
        cv2.imwrite(str(folder / f"{name}_rgb" / f"{i:05d}.bmp"), cv2.cvtColor(frame_rgb(i), cv2.COLOR_RGB2BGR))
    np.zeros((512, 640), np.uint16).tofile(folder / f"{name}_t" / "00000.raw")
    bvp = pulse(np.arange(num_frames) / FPS)
    quality = np.where(np.arange(num_frames) < low_quality, 0.1, 0.9)
    rows = [f"{b:.8f},{0.5:.3f},{0.8:.3f},{q:.3f}" for b, q in zip(bvp, quality)]
    (folder / f"{name}_bvp.csv").write_text("BVP,SQ1,SQ,SQ2\n" + "\n".join(rows) + "\n")
    return folder


def write_cohface_session(root: Path, subject: int, session: int, num_frames: int, fps: float = 20.0,
                          with_time: bool = True) -> Path:
    """`{subject}/{session}/data.avi` + `data.hdf5` (pulse and respiration at 256 Hz, time in s)."""
    import h5py

    folder = root / str(subject) / str(session)
    write_avi(folder / "data.avi", num_frames, fps)
    times = np.arange(round(num_frames / fps * 256)) / 256.0
    with h5py.File(folder / "data.hdf5", "w") as handle:
        handle["pulse"] = pulse(times)
        handle["respiration"] = np.sin(2 * np.pi * 0.25 * times)
        if with_time:
            handle["time"] = times
    return folder


def write_matlab_v73(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 behind a 512-byte user block with MATLAB's text
    header, each variable stored with its axes reversed and a MATLAB_class attribute."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as handle:
        for name, value in arrays.items():
            handle[name] = np.asarray(value, dtype=np.float64).T  # MATLAB column-major → reversed axes
            handle[name].attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Dec  3 00:00:00 2026 HDF5 schema 1.00 ."
    with path.open("r+b") as f:
        f.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")  # text, subsystem offset, version 0x0200, endian
    return path


def write_scamps_video(root: Path, index: int, num_frames: int) -> Path:
    """`P{NNNNNN}.mat` (v7.3): Xsub (MATLAB T×H×W×3 in [0,1]), d_ppg and d_br (T×1)."""
    video = np.stack([frame_rgb(i) for i in range(num_frames)]).astype(np.float64) / 255.0
    t = np.arange(num_frames) / FPS
    return write_matlab_v73(root / f"P{index:06d}.mat", {"Xsub": video, "d_ppg": pulse(t)[:, None],
                                                         "d_br": np.sin(2 * np.pi * 0.25 * t)[:, None]})


def write_vipl_video(root: Path, subject: int, scenario: int, source: int, num_frames: int, fps: float = 25.0,
                     stamps_fps: float | None = None) -> Path:
    """`p{N}/v{M}/source{K}/video.avi` + `wave.csv` (header, PPG spanning the video at 60 Hz) + `gt_HR.csv`
    (+ `time.txt`, ms per frame, when `stamps_fps` is given)."""
    folder = root / f"p{subject}" / f"v{scenario}" / f"source{source}"
    write_avi(folder / "video.avi", num_frames, fps)
    write_csv_column(folder / "wave.csv", pulse(np.arange(round(num_frames / fps * 60)) / 60.0), header="Wave")
    write_csv_column(folder / "gt_HR.csv", [72.0, 74.0, 0.0], header="HR")
    if stamps_fps:
        np.savetxt(folder / "time.txt", np.arange(num_frames) * 1000.0 / stamps_fps, fmt="%.0f")
    return folder


def write_bp4d_trial(root: Path, subject: str, task: str, num_frames: int, fps: float = 25.0) -> Path:
    """`2D+3D/{subject}.zip` gains `{subject}/{task}/NNNN.jpg`; `Physiology/{subject}/{task}/BP_mmHg.txt`
    (a wave at 1000 Hz spanning the frames, one value per line) + `Pulse Rate_BPM.txt`."""
    import zipfile

    archive = root / "2D+3D" / f"{subject}.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "a") as zipped:
        for i in range(num_frames):
            bgr = cv2.cvtColor(frame_rgb(i), cv2.COLOR_RGB2BGR)
            ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
            zipped.writestr(f"{subject}/{task}/{i:04d}.jpg", jpeg.tobytes())
    trial = root / "Physiology" / subject / task
    write_csv_column(trial / "BP_mmHg.txt", 80 + 20 * pulse(np.arange(round(num_frames / fps * 1000)) / 1000.0))
    write_csv_column(trial / "Pulse Rate_BPM.txt", [70.0, 72.0])
    return trial
