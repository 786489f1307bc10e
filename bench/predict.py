"""`physllm predict` speed: seconds of video processed per second of wall time, on this machine.

Renders one synthetic video (320×240, 30 fps) and times `predict_video` on it with POS (decode,
Haar face crop, clips, POS, windows) and, given `--checkpoint`, with a trained PhysLLM (the same
plus the frozen PhysNet, the describer, the stats cue and the model). Model loading is timed
apart from the video.

    python bench/predict.py [--seconds 60] [--checkpoint physllm-demo/run/<cache key>/best]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from functools import partial
from pathlib import Path

os.environ.setdefault("PHYSLLM_QUIET", "1")

from timing import timed  # noqa: E402  (bench/timing.py)

from physllm.render.synthetic import SynthConfig, write_synthetic_dataset  # noqa: E402
from physllm.predict import BaselineEstimator, PhysLLMEstimator, predict_video  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--checkpoint", type=Path, default=None, help="a trained PhysLLM (physllm train)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp), SynthConfig(num_subjects=1, seconds=args.seconds, easy_fraction=1.0))
        video = Path(tmp) / "subject1" / "vid.avi"
        estimators = [("pos", lambda: BaselineEstimator("pos"))]
        if args.checkpoint:
            estimators.append(("physllm", lambda: PhysLLMEstimator(args.checkpoint, device="cpu")))
        print(f"one {args.seconds:.0f} s video, 320x240, {os.cpu_count()} CPUs")
        for name, make in estimators:
            estimator, load_s = timed(make)
            pred, run_s = timed(partial(predict_video, video, estimator))
            hr = "no reliable HR" if pred.hr_bpm is None else f"HR {pred.hr_bpm:.1f} bpm"
            print(f"{name:8s} {pred.duration_s / run_s:6.1f} s of video per second "
                  f"({pred.duration_s:.0f} s in {run_s:.1f} s; loading {load_s:.1f} s); {hr}")


if __name__ == "__main__":
    main()
