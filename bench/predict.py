"""`physllm predict` speed: seconds of video processed per second of wall time, on this machine.

Renders one synthetic video (320×240, 30 fps) and times `predict_video` on it with POS (decode,
Haar face crop, clips, POS, windows) and, given a method (`--checkpoint`, `--baseline` or
`--backbone`, as `physllm predict` takes them: physllm/predict/estimators.py's `EstimatorConfig`),
with that method too (for a trained PhysLLM: the same plus the frozen PhysNet, the describer, the
stats cue and the model). Model loading is timed apart from the video. The options are
`physllm predict`'s estimator and window options (`--device`, `--window-s`, …, `--config FILE`)
plus `--seconds`.

    python bench/predict.py [--seconds 60] [--checkpoint physllm-demo/run/<cache key>/best]
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

os.environ.setdefault("PHYSLLM_QUIET", "1")

from timing import timed  # noqa: E402  (bench/timing.py)

from physllm.cli import build_command  # noqa: E402
from physllm.config import inline  # noqa: E402
from physllm.predict import BaselineEstimator, EstimatorConfig, WindowConfig, make_estimator, predict_video  # noqa: E402
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset  # noqa: E402


@dataclass
class PredictBench:
    seconds: float = 60.0  # length of the rendered video
    estimator: EstimatorConfig = inline(EstimatorConfig)  # the method timed beside POS, if one is named
    windows: WindowConfig = inline(WindowConfig)
    RANGES = {"seconds": "> 0"}


def run(cfg: PredictBench) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp), SynthConfig(num_subjects=1, seconds=cfg.seconds, easy_fraction=1.0))
        video = Path(tmp) / "subject1" / "vid.avi"
        estimators = [("pos", lambda: BaselineEstimator("pos"))]
        if cfg.estimator != EstimatorConfig(device=cfg.estimator.device):  # a method named
            estimators.append(("named", partial(make_estimator, cfg.estimator)))
        print(f"one {cfg.seconds:.0f} s video, 320x240, {os.cpu_count()} CPUs")
        for label, make in estimators:
            estimator, load_s = timed(make)
            pred, run_s = timed(partial(predict_video, video, estimator, cfg.windows))
            name = estimator.name if label == "named" else label
            print(f"{name:8s} {pred.duration_s / run_s:6.1f} s of video per second "
                  f"({pred.duration_s:.0f} s in {run_s:.1f} s; loading {load_s:.1f} s); HR {pred.hr_bpm:.1f} bpm")


if __name__ == "__main__":
    build_command("predict.py", PredictBench, run, __doc__.splitlines()[0])()
