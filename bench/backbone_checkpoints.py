"""How well each released rPPG-Toolbox PhysNet finds the heart rate on easy synthetic videos.

Render easy videos (bright, still, low noise, light compression), run them
through the pipeline's own clip path (Haar crop, 1.5× box, 72×72, 128-frame clips), DiffNormalize
(over the whole video as the toolbox does, or per clip as a streaming pipeline must), run every
checkpoint, join the clips, integrate + detrend + band-pass, FFT heart rate; compare with the
ground truth's HR computed the same way. A GREEN-channel row (no network) shows whether the
pulse is in the crops at all. Prints one table row per checkpoint.

    python bench/backbone_checkpoints.py --videos 6 --seconds 30 [--norm clip] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from physllm.data_catalog.synthetic import scan
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset
from physllm.errors import VideoError
from physllm.model.physnet import diff_normalize_frames, load_physnet
from physllm.pipeline.clips import ClipConfig, record_clips
from physllm.pulse import hr_fft, to_pulse

WEIGHTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "weights" / "rppg-toolbox"
WITHIN_BPM = 3.0


def load_videos(root: Path) -> list[dict]:
    """Per easy video: face crops (N·T, 72, 72, 3), per-clip crops, PPG, fps, labels."""
    videos = []
    for record in scan(root):
        if record.metadata.get("difficulty") != "easy":
            continue
        try:
            clips = list(record_clips(record, ClipConfig()))
        except VideoError as error:  # counted, not hidden: the table covers the others
            print(f"skipped: {error}")
            continue
        videos.append({"id": record.video_id, "fps": record.fps, "metadata": record.metadata,
                       "clips": [c.frames for c in clips],
                       "ppg": np.concatenate([c.ppg for c in clips]),
                       "green": np.concatenate([c.rgb_mean[:, 1] for c in clips])})
    return videos


def network_input(video: dict, norm: str) -> torch.Tensor:
    """(N, 3, T, 72, 72) DiffNormalized chunks, normalised over the video or per clip."""
    if norm == "video":
        whole = diff_normalize_frames(np.concatenate(video["clips"]))  # (N·T, H, W, 3)
        chunks = np.split(whole, len(video["clips"]))
    else:
        chunks = [diff_normalize_frames(c) for c in video["clips"]]
    return torch.from_numpy(np.stack(chunks)).permute(0, 4, 1, 2, 3)  # (N, 3, T, H, W)


def score(pred_pulse: np.ndarray, video: dict) -> tuple[float, float, float]:
    """(predicted HR, true HR, Pearson r of the band-passed pulses)."""
    fps = video["fps"]
    truth = to_pulse(video["ppg"], fps)
    return hr_fft(pred_pulse, fps), hr_fft(truth, fps), float(np.corrcoef(pred_pulse, truth)[0, 1])


def report(name: str, rows: list[tuple[float, float, float]]) -> None:
    pred, true, r = map(np.asarray, zip(*rows))
    err = np.abs(pred - true)
    per_video = " ".join(f"{p:.0f}/{t:.0f}" for p, t in zip(pred, true))
    print(f"{name:<46} {err.mean():6.1f} {np.mean(err <= WITHIN_BPM):6.0%} {np.mean(r):+6.2f}  {per_video}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=6, help="easy videos to render")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--norm", choices=("video", "clip"), default="video")
    parser.add_argument("--out", type=Path, help="render here (kept); default a temp folder")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        if not (root / "metadata.json").exists():
            write_synthetic_dataset(root, SynthConfig(num_subjects=args.videos, seconds=args.seconds,
                                                      seed=args.seed, easy_fraction=1.0))
        videos = load_videos(root)
    print(f"{len(videos)} easy videos, {args.seconds:.0f} s each, DiffNormalized per {args.norm}; "
          f"HR pred/true per video")
    print(f"{'checkpoint':<46} {'MAE':>6} {'≤3bpm':>6} {'r':>6}")
    report("GREEN channel (no network)",
           [score(to_pulse(v["green"], v["fps"]), v) for v in videos])
    for path in sorted(args.weights.glob("*.pth")):
        model = load_physnet(path)
        rows = []
        for video in videos:
            with torch.no_grad():
                wave = model(network_input(video, args.norm)).wave.reshape(-1).numpy()
            rows.append(score(to_pulse(wave, video["fps"], diff=True), video))
        report(path.name, rows)


if __name__ == "__main__":
    main()
