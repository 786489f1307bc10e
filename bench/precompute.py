"""Benchmark of `physllm precompute` on the synthetic dataset, in one run.

Prints what a frame costs, in milliseconds of one core, stage by stage: bare decoding (`open_video`),
the rest of the front end (face track, crops, skin means: `iter_clips` less decoding), the frozen
PhysNet on one thread (as the job's CPU workers run it) and the other cues (describer, stats); the
floor those set on this machine (their sum divided by the cores, as if the cores were shared
perfectly); the end-to-end rate of a fresh precompute with the fast describer (Ray start included,
and after it) and its ratio to that floor; the time of a second, cached run (target < 2 s plus
listing), and the cache's bytes per minute of video. `--json PATH` writes the per-stage costs for
bench/capacity.py.

    python bench/precompute.py [--subjects 20] [--seconds 60] [--backbone PATH] [--workdir DIR] [--json PATH]

The default, 20 minutes of video, is about a third of UBFC-rPPG: a run pays ~10 s of start-up
on 2 cores (Ray, the workers importing torch), which the ratio on a few minutes would mostly measure.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("PHYSLLM_QUIET", "1")

from timing import timed  # noqa: E402  (bench/timing.py)

from physllm.cues.rows import cue_rows  # noqa: E402
from physllm.data_catalog import scan  # noqa: E402
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset  # noqa: E402
from physllm.model.physnet import PhysNet  # noqa: E402
from physllm.pipeline.backbone import BackboneRunner  # noqa: E402
from physllm.pipeline.clips import ClipConfig, iter_clips  # noqa: E402
from physllm.pipeline.describers import make_describer  # noqa: E402
from physllm.pipeline.job import PrecomputeConfig, run_precompute  # noqa: E402
from physllm.pipeline.resample import with_times  # noqa: E402


def stage_costs(records, backbone: Path) -> tuple[dict[str, float], list]:
    """ms of one core per frame for each stage, measured one after the other on one thread; and the clips."""
    torch.set_num_threads(1)
    frames, t_decode = timed(lambda: sum(1 for r in records for _ in r.frames()))
    clips, t_front = timed(lambda: [c for r in records for c in iter_clips(with_times(r.frames(), r.fps), None, ClipConfig())])
    clip_frames = len(clips) * ClipConfig().clip_frames
    runner = BackboneRunner(backbone, threads=1)
    sample = clips[:32]
    runner.run(np.stack([c.frames for c in sample[:1]]))  # warm-up
    _, t_physnet = timed(lambda: runner.run(np.stack([c.frames for c in sample])))
    describer = make_describer("fast", None)
    _, t_cues = timed(lambda: cue_rows(sample, runner, describer, 30.0))
    sample_frames = len(sample) * ClipConfig().clip_frames
    costs = {"decode_ms": 1e3 * t_decode / frames,
             "front_end_ms": 1e3 * (t_front - t_decode) / clip_frames,
             "physnet_cpu_ms": 1e3 * t_physnet / sample_frames,
             "other_cues_ms": 1e3 * max(0.0, t_cues - t_physnet) / sample_frames}
    return costs, clips


def precompute_runs(root: Path, backbone: Path, work: Path, minutes: float, floor: float) -> tuple[float, float]:
    """A fresh precompute, then the same again from the cache; prints both; returns the fresh
    run's frames/s with Ray's start-up and after it."""
    cfg = PrecomputeConfig("synthetic", root, cache_root=work / f"cache-{time.time_ns()}", backbone=backbone)
    summary, t = timed(lambda: run_precompute(cfg))
    T = ClipConfig().clip_frames
    end_to_end = summary.computed_clips * T / t
    steady = (summary.computed_clips - summary.startup_clips) * T / (t - summary.startup_seconds)
    print(f"end to end (fast describer) {end_to_end:8.1f} frames/s in {t:.1f} s incl. Ray start "
          f"({summary.startup_seconds:.1f} s: Ray, workers loading, the first {summary.startup_clips} clips)")
    print(f"  after start-up            {steady:8.1f} frames/s, {steady / floor:.2f} of the combined floor")
    import ray

    ray.shutdown()
    again, t_again = timed(lambda: run_precompute(cfg))
    print(f"second, cached run          {t_again:8.2f} s (computed {again.computed_videos} videos; target < 2 s)")
    size = sum(p.stat().st_size for p in (summary.path / "shards").glob("*.parquet"))
    print(f"cache size                  {size / minutes / 1e6:8.2f} MB per minute of video "
          f"({size / 1e6:.1f} MB, {summary.clips} clips)")
    return end_to_end, steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backbone", type=Path, default=None, help="default: a random PhysNet (speed only)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the per-stage costs here")
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
    cores = os.cpu_count()
    print(f"{len(records)} synthetic videos, {minutes:.1f} min, {cores} CPUs, torch {torch.__version__}")

    costs, clips = stage_costs(records, backbone)
    names = {"decode_ms": "decode", "front_end_ms": "face track, crops, skin means",
             "physnet_cpu_ms": "PhysNet, one thread", "other_cues_ms": "describer (fast), stats"}
    for key, name in names.items():
        print(f"  {name:30s} {costs[key]:6.3f} ms of a core per frame")
    front = costs["decode_ms"] + costs["front_end_ms"]
    floor = 1e3 * cores / sum(costs.values())
    print(f"  {'front end (decode + the rest)':30s} {front:6.3f} ms of a core per frame (target <= 1.0)")
    print(f"combined floor              {floor:8.1f} frames/s (the stages' sum shared by {cores} cores)")

    runner = BackboneRunner(backbone, threads=cores)
    _, t = timed(lambda: runner.run(np.stack([c.frames for c in clips[:32]])))
    print(f"PhysNet batched, {cores} threads {32 * ClipConfig().clip_frames / t:8.1f} frames/s (batch {runner.batch_size})")

    end_to_end, steady = precompute_runs(root, backbone, work, minutes, floor)
    if args.json:
        args.json.write_text(json.dumps(costs | {"cores": cores, "end_to_end_fps": end_to_end,
                                                 "steady_fps": steady, "minutes": minutes}, indent=1))


if __name__ == "__main__":
    main()
