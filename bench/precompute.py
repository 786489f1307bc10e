"""Benchmark of `physllm precompute` on the synthetic dataset, in one run.

Prints: the bare decode rate (frames/s through `open_video`), decode + face crop + clips
(`iter_clips`), PhysNet's own batched inference rate on the same clips (all cores, one process),
the end-to-end rate of a fresh precompute with the fast describer (Ray start included) and its
ratio to the slower floor (target >= 0.8), the time of a second, cached run (target < 2 s plus
listing), and the cache's bytes per minute of video.

    python bench/precompute.py [--subjects 20] [--seconds 60] [--backbone PATH] [--workdir DIR]

The default, 20 minutes of video, is about a third of UBFC-rPPG: a run pays ~10 s of start-up
on 2 cores (Ray, the workers importing torch), which the ratio on a few minutes would mostly measure.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("PHYSLLM_QUIET", "1")

from timing import timed  # noqa: E402  (bench/timing.py)

from physllm.data_catalog import scan  # noqa: E402
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset  # noqa: E402
from physllm.model.physnet import PhysNet  # noqa: E402
from physllm.pipeline.backbone import BackboneRunner  # noqa: E402
from physllm.pipeline.clips import ClipConfig, iter_clips  # noqa: E402
from physllm.pipeline.resample import with_times  # noqa: E402
from physllm.pipeline.job import PrecomputeConfig, run_precompute  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backbone", type=Path, default=None, help="default: a random PhysNet (speed only)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="physllm-bench-"))
    root = work / "synthetic"
    if not (root / "metadata.json").exists():
        write_synthetic_dataset(root, SynthConfig(num_subjects=args.subjects, seconds=args.seconds))
    backbone = args.backbone
    if backbone is None:
        torch.manual_seed(0)
        backbone = work / "random-physnet.pth"
        torch.save(PhysNet().state_dict(), backbone)
    records = scan("synthetic", root)
    minutes = sum(r.num_frames / r.fps for r in records) / 60
    print(f"{len(records)} synthetic videos, {minutes:.1f} min, {os.cpu_count()} CPUs, torch {torch.__version__}")

    frames, t = timed(lambda: sum(1 for r in records for _ in r.frames()))
    print(f"bare decode                 {frames / t:8.1f} frames/s")
    clips, t = timed(lambda: [c.frames for r in records for c in iter_clips(with_times(r.frames(), r.fps), None, ClipConfig())])
    clip_frames = len(clips) * ClipConfig().clip_frames
    print(f"decode + face crop + clips  {clip_frames / t:8.1f} frames/s")
    decode_floor = clip_frames / t
    runner = BackboneRunner(backbone, threads=os.cpu_count())
    runner.run(np.stack(clips[:1]))  # warm-up
    _, t = timed(lambda: runner.run(np.stack(clips)))
    physnet_floor = clip_frames / t
    print(f"PhysNet batched inference   {physnet_floor:8.1f} frames/s (batch {runner.batch_size}, "
          f"{torch.get_num_threads()} threads)")
    torch.set_num_threads(1)
    _, t = timed(lambda: runner.run(np.stack(clips[:32])))
    print(f"  the same on one thread    {32 * ClipConfig().clip_frames / t:8.1f} frames/s (the job's CPU "
          f"workers run one thread each)")

    cfg = PrecomputeConfig("synthetic", root, cache_root=work / f"cache-{time.time_ns()}", backbone=backbone)
    summary, t = timed(lambda: run_precompute(cfg))
    T = ClipConfig().clip_frames
    end_to_end = summary.computed_clips * T / t
    floor = min(decode_floor, physnet_floor)
    print(f"end to end (fast describer) {end_to_end:8.1f} frames/s in {t:.1f} s incl. Ray start; "
          f"ratio to the slower floor {end_to_end / floor:.2f} (target >= 0.8)")
    steady = (summary.computed_clips - summary.startup_clips) * T / (t - summary.startup_seconds)
    print(f"  of which start-up         {summary.startup_seconds:8.1f} s (Ray, workers loading, the first "
          f"{summary.startup_clips} clips); after it {steady:.1f} frames/s, ratio {steady / floor:.2f}")
    import ray

    ray.shutdown()
    again, t = timed(lambda: run_precompute(cfg))
    print(f"second, cached run          {t:8.2f} s (computed {again.computed_videos} videos; target < 2 s)")
    size = sum(p.stat().st_size for p in (summary.path / "shards").glob("*.parquet"))
    print(f"cache size                  {size / minutes / 1e6:8.2f} MB per minute of video "
          f"({size / 1e6:.1f} MB, {summary.clips} clips)")


if __name__ == "__main__":
    main()
