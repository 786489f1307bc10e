"""Real faces under conditions we did not render: PhysLLM beside its own inputs (its frozen PhysNet
alone, POS) and CHROM on real clips with a measured pulse, each also read through camera and light
changes applied to the recorded frames. The face, the skin, its pulse and the room are the
recording's; only the change is ours, so which input each condition defeats is not chosen by a
renderer (issue 22: "video whose trust pattern we did not choose").

Conditions (`CONDITIONS`; each a published hard case of real rPPG data, applied to every frame):
    as recorded     the clip itself
    lamp flicker    a warm light whose brightness wanders in the pulse band (0.7-3 Hz, 2-4 % per
                    channel, red most): MMPD's and BUAA's changing light, a screen's glow
    side light      the same wandering light falling from one side: left and right of the frame
                    change in opposite directions (a lamp moving past, a head turning to a window)
    exposure steps  the camera's auto-exposure jumping ±10-15 % three times
    noise + jpeg    sensor noise (σ 6 of 255) and JPEG quality 25 (a cheap webcam over a link)
    shake           the whole picture jittering ±6 px at 0.5-4 Hz (a handheld phone; skin texture
                    moves across the pixel grid)
    low resolution  a quarter of the width and height, scaled back (a face a few metres away)
    dim             a third of the light, with the sensor noise that comes with it (BUAA's low lux)

Every method reads each video through `physllm predict`'s own path (`predict_video`); the truth is
the clip's PPG read the same way (FFT peak of the whole video). For each `--checkpoint` (a trained
PhysLLM; its PhysNet is the one its training record names), PhysLLM and that PhysNet alone; POS
and CHROM once. The perturbed videos (lossless FFV1) and the readings are kept under --work: a
second run only prints. `--draw N` seeds the changes (other lamps, steps and shakes): the gate's
light rules (cues/quality.py) were chosen looking at draws 0-2 and draw 3 read after the choice;
CHROM seconding PhysNet's lit rate was chosen looking at draws 0-5, and draws 6-9 read after it.

    python bench/perturbed_real.py --work /tmp/physllm-perturbed \\
        --clip <vitallens 0.2.2>/examples/sample_video_1.mp4:<…>/sample_vitals_1.csv \\
        --clip <…>/sample_video_2.mp4:<…>/sample_vitals_2.csv \\
        --checkpoint ubfc=<demo run>/best --checkpoint pure=<another demo run>/best
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from physllm import pulse  # noqa: E402
from physllm.errors import PhysllmError  # noqa: E402
from physllm.predict import EstimatorConfig, make_estimator, predict_video  # noqa: E402

RIGHT_BPM = 5.0  # a method "reads" a video within this of the truth (bench/accuracy.py's trust groups)


def wandering(n: int, fps: float, low_hz: float, high_hz: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) band-limited noise of unit standard deviation: a light or a hand that wanders in a band."""
    b, a = scipy.signal.butter(2, [low_hz / fps * 2, high_hz / fps * 2], btype="bandpass")
    x = scipy.signal.filtfilt(b, a, rng.standard_normal(n + 2 * int(fps)))[int(fps):-int(fps)]
    return x / x.std()


def lamp_gains(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) per-frame BGR gains of a warm lamp wandering in the pulse band (red 4 %, blue 2 %)."""
    return 1 + wandering(n, fps, 0.7, 3.0, rng)[:, None] * np.array([0.02, 0.03, 0.04])


def exposure_gains(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) auto-exposure: three jumps of 10-15 % at random frames, each up or down."""
    gains = np.ones(n)
    for at in sorted(rng.choice(np.arange(n // 8, n - n // 8), size=3, replace=False)):
        gains[at:] *= 1 + rng.choice([-1, 1]) * rng.uniform(0.10, 0.15)
    return gains


def perturb(frames: np.ndarray, condition: str, fps: float, seed: int) -> np.ndarray:
    """(N, H, W, 3) uint8 BGR frames → the same under `condition` (module doc)."""
    rng = np.random.default_rng(seed)
    n, h, w = frames.shape[:3]
    x = frames.astype(np.float32)
    if condition == "lamp flicker":
        x *= lamp_gains(n, fps, rng)[:, None, None, :].astype(np.float32)
    elif condition == "side light":
        across = np.linspace(-1, 1, w, dtype=np.float32)[None, None, :, None]
        x *= 1 + (lamp_gains(n, fps, rng) - 1)[:, None, None, :].astype(np.float32) * across * 2
    elif condition == "exposure steps":
        x *= exposure_gains(n, rng)[:, None, None, None].astype(np.float32)
    elif condition == "noise + jpeg":
        x += rng.normal(0, 6, x.shape).astype(np.float32)
        jpeg = lambda f: cv2.imdecode(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 25])[1], 1)  # noqa: E731
        return np.stack([jpeg(np.clip(f, 0, 255).astype(np.uint8)) for f in x])
    elif condition == "shake":
        dx, dy = (6 * wandering(n, fps, 0.5, 4.0, rng) / 2 for _ in range(2))  # ±2σ ≈ ±6 px
        return np.stack([cv2.warpAffine(f, np.float32([[1, 0, a], [0, 1, b]]), (w, h), borderMode=cv2.BORDER_REFLECT)
                         for f, a, b in zip(frames, dx, dy)])
    elif condition == "low resolution":
        small = lambda f: cv2.resize(f, (w // 4, h // 4), interpolation=cv2.INTER_AREA)  # noqa: E731
        return np.stack([cv2.resize(small(f), (w, h), interpolation=cv2.INTER_LINEAR) for f in frames])
    elif condition == "dim":
        x = x / 3 + rng.normal(0, 2, x.shape).astype(np.float32)
    elif condition != "as recorded":
        raise ValueError(condition)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


CONDITIONS = ("as recorded", "lamp flicker", "side light", "exposure steps", "noise + jpeg", "shake",
              "low resolution", "dim")


def read_frames(video: Path) -> tuple[np.ndarray, float]:
    cap = cv2.VideoCapture(str(video))
    fps, frames = cap.get(cv2.CAP_PROP_FPS), []
    while (frame := cap.read())[0]:
        frames.append(frame[1])
    return np.stack(frames), fps


def write_video(path: Path, frames: np.ndarray, fps: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, frames.shape[2:0:-1])
    for frame in frames:
        writer.write(frame)
    writer.release()


def truth_bpm(csv_path: Path, num_frames: int, fps: float) -> float:
    with csv_path.open() as f:
        ppg = np.array([float(row["ppg"]) for row in csv.DictReader(f)])[:num_frames]
    return pulse.hr_fft(pulse.to_pulse(ppg, fps), fps)


def make_videos(clips: list[str], work: Path, draw: int) -> list[dict]:
    """Every clip under every condition, written once: [{clip, condition, path, truth}]. `draw`
    seeds the random changes (another draw: the same conditions, other lamps, steps and shakes)."""
    videos = []
    for index, spec in enumerate(clips):
        video, table = (Path(p) for p in spec.split(":"))
        frames, fps = read_frames(video)
        truth = truth_bpm(table, len(frames), fps)
        for c, condition in enumerate(CONDITIONS):
            path = work / f"draw{draw}" / video.stem / f"{condition.replace(' ', '_').replace('+', 'and')}.avi"
            if not path.is_file():
                write_video(path, perturb(frames, condition, fps, seed=1000 * draw + 100 * index + c), fps)
            videos.append({"clip": video.stem, "condition": condition, "path": str(path), "truth": truth})
    return videos


def estimators(checkpoints: list[str]) -> dict[str, EstimatorConfig]:
    """POS, CHROM, and per `label=checkpoint` PhysLLM and the PhysNet its training record names."""
    from physllm.predict.estimators import find_backbone, training_cache
    from physllm.train.inference import read_training_info

    methods = {"pos": EstimatorConfig(baseline="pos"), "chrom": EstimatorConfig(baseline="chrom")}
    for spec in checkpoints:
        label, checkpoint = spec.split("=", 1)
        backbone = find_backbone(training_cache(read_training_info(Path(checkpoint)), checkpoint), None)
        methods[f"physllm {label}"] = EstimatorConfig(checkpoint=Path(checkpoint), backbone=str(backbone))
        methods[f"physnet {label}"] = EstimatorConfig(backbone=str(backbone))
    return methods


def read_videos(videos: list[dict], methods: dict[str, EstimatorConfig]) -> dict[str, dict[str, dict]]:
    """{method: {video path: {hr, note}}}: each video read by `predict_video` with each method."""
    readings = {}
    for name, cfg in methods.items():
        estimator = make_estimator(cfg)
        readings[name] = {}
        for video in videos:
            try:
                p = predict_video(Path(video["path"]), estimator)
                readings[name][video["path"]] = {"hr": p.hr_bpm, "note": " ".join(p.notes)}
            except PhysllmError as e:  # a video the front end refuses is a result, not a crash
                readings[name][video["path"]] = {"hr": float("nan"), "note": str(e)}
            print(f"{name:>16}  {video['clip']}  {video['condition']:<15} "
                  f"{readings[name][video['path']]['hr']:6.1f} bpm (truth {video['truth']:.1f})", flush=True)
    return readings


def gate_label(note: str) -> str:
    """Which wave `physllm predict` kept, from its note (predict/estimators.py, `fallback_note`)."""
    for words, label in (("frozen PhysNet's wave", "→ PhysNet"), ("chrominance (POS) wave", "→ POS"),
                         ("one heart rate, the light's", "inputs lit")):
        if words in note:
            return label
    return ""


def print_tables(videos: list[dict], readings: dict[str, dict[str, dict]]) -> None:
    methods = list(readings)
    errors = {m: np.array([abs(readings[m][v["path"]]["hr"] - v["truth"]) for v in videos]) for m in methods}
    print("\n| clip | condition | truth | " + " | ".join(methods) + " | PhysLLM's wave |")
    print("|---" * (len(methods) + 4) + "|")
    for i, v in enumerate(videos):
        kept = ", ".join(f"{m.split()[1]} {gate_label(readings[m][v['path']]['note'])}" for m in methods
                         if m.startswith("physllm") and gate_label(readings[m][v["path"]]["note"]))
        cells = " | ".join(f"{errors[m][i]:.1f}" for m in methods)
        print(f"| {v['clip']} | {v['condition']} | {v['truth']:.1f} | {cells} | {kept} |")
    print("\nMAE (bpm) over all videos, and over each trust group of each checkpoint's PhysNet vs POS:")
    print("| set | n | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 2) + "|")
    groups = {"all": np.ones(len(videos), bool)}
    for label in (m.split()[1] for m in methods if m.startswith("physnet")):
        right_net, right_pos = errors[f"physnet {label}"] <= RIGHT_BPM, errors["pos"] <= RIGHT_BPM
        for name, mask in (("both right", right_net & right_pos), ("PhysNet only", right_net & ~right_pos),
                           ("POS only", ~right_net & right_pos), ("both wrong", ~right_net & ~right_pos)):
            groups[f"{label}: {name}"] = mask
    for name, mask in groups.items():
        if mask.any():
            cells = " | ".join(f"{np.nanmean(errors[m][mask]):.2f}" for m in methods)
            print(f"| {name} | {mask.sum()} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="perturbed videos and readings.json, reused")
    parser.add_argument("--clip", action="append", required=True, help="VIDEO:CSV of a real clip with a ppg column")
    parser.add_argument("--checkpoint", action="append", default=[], help="LABEL=a trained PhysLLM checkpoint")
    parser.add_argument("--draw", type=int, default=0, help="seeds the changes (module doc)")
    args = parser.parse_args()
    videos = make_videos(args.clip, args.work, args.draw)
    path = args.work / f"readings-draw{args.draw}.json"
    readings = json.loads(path.read_text()) if path.is_file() else {}
    wanted = estimators(args.checkpoint)
    missing = {name: cfg for name, cfg in wanted.items()
               if not all(v["path"] in readings.get(name, {}) for v in videos)}
    if missing:
        readings.update(read_videos(videos, missing))
        path.write_text(json.dumps(readings, indent=1))
    print_tables(videos, {name: readings[name] for name in wanted})


if __name__ == "__main__":
    main()
