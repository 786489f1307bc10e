"""Accuracy of the vitals (HRV, breathing rate) on synthetic data, two ways.

1. The method itself: synthetic PPGs (`render.ppg`) whose beat times and
   breathing rate are known, read by `physllm.vitals`; errors against the known values, clean
   and with white noise added (how noise moves the beats: where HRV's beat-shape gate comes from).
2. The whole rPPG path: rendered synthetic faces (`datasets synth`), face crop and clips as in
   precompute, GREEN/CHROM/POS on the crops' mean colour, scored by `evaluation.report` (the
   code behind `physllm evaluate`) against the vitals of each video's own ground-truth PPG.

    python bench/vitals.py [--ppgs 50] [--seconds 60] [--subjects 12]
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
from pathlib import Path

os.environ.setdefault("PHYSLLM_QUIET", "1")

import numpy as np  # noqa: E402

from physllm import vitals  # noqa: E402
from physllm.classic_methods import BASELINES  # noqa: E402
from physllm.data_catalog import scan  # noqa: E402
from physllm.data_catalog.video_io import open_video  # noqa: E402
from physllm.evaluation.report import VideoSignals, evaluate_videos  # noqa: E402
from physllm.render.ppg import SYSTOLIC, draw_pulse_params, heart_rate_curve, synthesize_ppg  # noqa: E402
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset  # noqa: E402
from physllm.tables import print_vitals_table  # noqa: E402
from physllm.pipeline.clips import ClipConfig, iter_clips  # noqa: E402

FPS = 30.0


def known_ppg(seed: int, seconds: float):
    """A synthetic PPG, its true HRV (SDNN, RMSSD ms, pNN50 %) and breathing rate (/min).
    The beats are rebuilt from a copy of the generator's random state (as tests/test_vitals.py)."""
    rng = np.random.default_rng(seed)
    params = draw_pulse_params(rng, (45.0, 150.0))
    twin = copy.deepcopy(rng)
    trace = synthesize_ppg(params, seconds, FPS, rng)
    phase = np.cumsum(heart_rate_curve(params, trace.times_s, twin) / 60.0) / FPS + twin.uniform()
    beats = np.arange(np.ceil(phase[0] - SYSTOLIC[1]), np.floor(phase[-1] - SYSTOLIC[1]) + 1) + SYSTOLIC[1]
    ibis = np.diff(np.interp(beats, phase, trace.times_s)) * 1000.0
    successive = np.diff(ibis)
    truth = (ibis.std(ddof=1), np.sqrt(np.mean(successive**2)), 100 * np.mean(np.abs(successive) > 50))
    return trace.ppg, truth, params.resp_hz * 60.0


def method_accuracy(count: int, seconds: float, noise: float = 0.0, cfg=vitals.VitalsConfig()) -> None:
    """Errors of HRV and breathing read from `count` synthetic PPGs, with white noise of `noise` ×
    the PPG's peak-to-peak added."""
    errors, read, breathing, breathing_read, shapes = [], 0, [], 0, []
    for seed in range(count):
        ppg, (sdnn, rmssd, pnn50), rate = known_ppg(seed, seconds)
        ppg = ppg + noise * np.ptp(ppg) * np.random.default_rng(1000 + seed).standard_normal(ppg.size)
        got = vitals.vitals(ppg, FPS, cfg)
        shapes.append(got.template_r if got.template_r is not None else np.nan)
        if got.hrv_flag == "ok":
            read += 1
            errors.append((abs(got.sdnn_ms - sdnn), abs(got.rmssd_ms - rmssd), abs(got.pnn50 - pnn50)))
        if got.breathing_flag == "ok":
            breathing_read += 1
            breathing.append(abs(got.breathing_rpm - rate))
    mae = np.mean(errors, axis=0) if errors else np.full(3, np.nan)
    print(f"   noise {noise:.2f} × peak-to-peak (median beat r {np.nanmedian(shapes):.3f}): HRV read on {read}/{count}, "
          f"MAE SDNN {mae[0]:.2f} ms, RMSSD {mae[1]:.2f} ms, pNN50 {mae[2]:.2f} points; breathing read on "
          f"{breathing_read}/{count}, MAE {np.mean(breathing) if breathing else np.nan:.2f} /min")


def rendered_signals(root: Path) -> list[VideoSignals]:
    out = []
    for record in scan("synthetic", root):
        clips = list(iter_clips(open_video(record.path), record.ppg(), ClipConfig(), record.video_id))
        rgb = np.concatenate([clip.rgb_mean for clip in clips]).astype(np.float64)
        truth = np.concatenate([clip.ppg for clip in clips])
        methods = {name: BASELINES[name](rgb, record.fps) for name in ("pos", "chrom", "green")}
        out.append(VideoSignals(record.video_id, record.dataset, record.fps, record.metadata, truth, methods))
    return out


def path_accuracy(subjects: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp), SynthConfig(num_subjects=subjects))
        signals = rendered_signals(Path(tmp))
    print(f"2. rendered synthetic faces, {subjects} videos × 30 s (a third easy), whole videos:")
    for label, chosen in (("all", signals), *((level, [s for s in signals if s.metadata["difficulty"] == level])
                                              for level in ("easy", "hard"))):
        print(f"   {label} videos ({len(chosen)}):")
        print_vitals_table(evaluate_videos(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppgs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--subjects", type=int, default=12)
    args = parser.parse_args()
    print(f"1. synthetic PPG, {args.ppgs} subjects × {args.seconds:g} s, known beats and breathing:")
    method_accuracy(args.ppgs, args.seconds)
    print("   with noise, HRV's beat-shape gate off (what it guards against):")
    ungated = vitals.VitalsConfig(min_template_r=-1.0)
    for noise in (0.05, 0.1, 0.2, 0.3):
        method_accuracy(args.ppgs, args.seconds, noise, ungated)
    print("   with noise, the defaults:")
    for noise in (0.05, 0.1, 0.2, 0.3):
        method_accuracy(args.ppgs, args.seconds, noise)
    if args.subjects:
        path_accuracy(args.subjects)


if __name__ == "__main__":
    main()
