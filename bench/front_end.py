"""The video front end on video it was not tuned on: face detection (Haar vs MTCNN) and the
calibration of `physllm predict`'s confidence.

Renders `--subjects` synthetic videos (another seed than the demo's), writes each also turned by
30° and darkened to a quarter of its light, adds any real clips given with `--clip VIDEO:CSV`
(a CSV with a `ppg` column, one row per frame, as vitallens' examples ship), and runs
`predict_video` with POS (or a frozen PhysNet, `--backbone`) under each detector. Prints:
1. per perturbation and detector: the detection rate (share of detections that found a face)
   and the whole-video HR MAE against the ground-truth PPG;
2. a reliability table: every 10-s window of the MTCNN runs binned by confidence, with its HR
   MAE and the share within 5 bpm; the threshold `WindowConfig.min_confidence` is read off it.

    python bench/front_end.py --subjects 12 --seconds 20 [--clip v.mp4:v.csv] [--backbone X.pth]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from physllm import pulse  # noqa: E402
from physllm.data_catalog import scan  # noqa: E402
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset  # noqa: E402
from physllm.data_catalog.video_io import probe_video  # noqa: E402
from physllm.errors import PhysllmError  # noqa: E402
from physllm.pipeline.clips import ClipConfig  # noqa: E402
from physllm.pipeline.face import FaceConfig  # noqa: E402
from physllm.predict import BaselineEstimator, PhysNetEstimator, predict_video  # noqa: E402

BINS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.01)


def rotate(frame: np.ndarray, degrees: float) -> np.ndarray:
    h, w = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


PERTURBATIONS = {
    "as rendered": None,
    "turned 30°": lambda f: rotate(f, 30),
    "dark (x0.25)": lambda f: (f.astype(np.float32) * 0.25).astype(np.uint8),
}


def write_video(path: Path, frames, fps: float) -> Path:
    writer = None
    for frame in frames:
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                     (frame.shape[1], frame.shape[0]))
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def truth_hr(ppg: np.ndarray, fps: float, start_s: float, end_s: float) -> float:
    a, b = int(round(start_s * fps)), int(round(end_s * fps))
    return pulse.hr_fft(pulse.to_pulse(ppg[a:b], fps), fps)


def read_clip_ppg(csv_path: Path) -> np.ndarray:
    with csv_path.open() as f:
        return np.array([float(row["ppg"]) for row in csv.DictReader(f)])


def videos(args, work: Path) -> list[tuple[str, str, Path, np.ndarray, float]]:
    """(name, perturbation, path, truth PPG resampled to 30 fps, 30.0)."""
    root = work / "synthetic"
    write_synthetic_dataset(root, SynthConfig(num_subjects=args.subjects, seconds=args.seconds,
                                              seed=args.seed, easy_fraction=0.25))
    out = []
    for record in scan("synthetic", root):
        ppg = record.ppg()
        for name, change in PERTURBATIONS.items():
            path = record.path if change is None else write_video(
                work / f"{record.subject}_{name.split()[0]}.avi", map(change, record.frames()), record.fps)
            out.append((record.subject, name, path, ppg, record.fps))
    for spec in args.clip:
        video, table = (Path(p) for p in spec.split(":"))
        info = probe_video(video)
        ppg = read_clip_ppg(table)[:info.num_frames]
        resampled = np.interp(np.arange(0, len(ppg) / info.fps, 1 / 30.0), np.arange(len(ppg)) / info.fps, ppg)
        out.append((video.name, "real clip", video, resampled, 30.0))
    return out


def estimator_for(args, detector: str):
    clip_cfg = replace(ClipConfig(), face=FaceConfig(detector=detector))
    if args.backbone:
        return PhysNetEstimator(args.backbone, clip_config=clip_cfg)
    return BaselineEstimator("pos", clip_cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--clip", action="append", default=[], help="VIDEO:CSV of a real clip with a ppg column")
    parser.add_argument("--backbone", type=Path, help="a PhysNet .pth: read with it instead of POS")
    args = parser.parse_args()
    method = f"PhysNet {args.backbone.name}" if args.backbone else "POS"
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    windows: list[tuple[float, float]] = []  # (confidence, |error|) of the MTCNN runs
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind, path, ppg, fps in videos(args, Path(tmp)):
            for detector in ("haar", "mtcnn"):
                try:
                    pred = predict_video(path, estimator_for(args, detector))
                except PhysllmError:  # no face in any detection: a miss, no number
                    results.setdefault((kind, detector), []).append((0.0, float("nan")))
                    continue
                n = min(len(ppg), len(pred.pulse))
                error = abs(pred.hr_bpm - truth_hr(ppg[:n], fps, 0, n / fps))
                results.setdefault((kind, detector), []).append((float(np.mean(pred.face)), error))
                if detector == "mtcnn":
                    windows += [(w.confidence, abs(w.hr_bpm - truth_hr(ppg, fps, w.start_s, w.end_s)))
                                for w in pred.windows if w.end_s * fps <= len(ppg)]
    print(f"1. face detection and whole-video HR ({method}); MAE over the videos read, "
          "'read' = videos with a face found")
    print(f"{'videos':14s} {'detector':8s} {'detection rate':>15s} {'read':>6s} {'HR MAE (bpm)':>13s}")
    for (kind, detector), rows in results.items():
        found = np.array([r[0] for r in rows])
        errors = np.array([r[1] for r in rows])
        read = np.isfinite(errors)
        mae = f"{errors[read].mean():.2f}" if read.any() else "-"
        print(f"{kind:14s} {detector:8s} {found.mean():15.2f} {read.sum():3d}/{len(rows):<2d} {mae:>13s}")
    print(f"\n2. reliability of the confidence: {len(windows)} ten-second windows (MTCNN, {method})")
    print(f"{'confidence':>12s} {'windows':>8s} {'HR MAE':>8s} {'within 5 bpm':>13s}")
    conf = np.array([w[0] for w in windows])
    err = np.array([w[1] for w in windows])
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        inside = (conf >= lo) & (conf < hi)
        if inside.any():
            print(f"{lo:5.1f}–{min(hi, 1.0):<5.1f} {inside.sum():8d} {err[inside].mean():8.2f} "
                  f"{(err[inside] <= 5).mean():13.0%}")
    for threshold in (0.3, 0.4, 0.5, 0.6):
        kept = conf >= threshold
        print(f"threshold {threshold:.1f}: keeps {kept.mean():.0%} of windows, MAE {err[kept].mean():.2f} "
              f"(flagged: {err[~kept].mean() if (~kept).any() else float('nan'):.2f})")


if __name__ == "__main__":
    main()
