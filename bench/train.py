"""Training throughput from the shard cache vs the world without it, in one run.

Both sides train the same PhysLLM with the same `TrainRecipe.train_step`; only where a batch
comes from differs:
- cached: `ClipStream` over shards written once (what `physllm precompute` writes);
- uncached: per step, decode the video, detect and crop the face, run the frozen PhysNet,
  describe the keyframe and compute the stats cue (`physllm.pipeline`'s clips, backbone,
  describers and stats_cues: the same code precompute runs), then tokenise.
Reports samples/s of each, their ratio (target ≥ 10×), and the share of the cached step time
spent waiting on data (target < 10%).

    python bench/train.py                        # MiniLM, the offline default LLM
    python bench/train.py --llm PATH --steps 8   # another LLM; more steps
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from physllm.data_catalog import scan
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset
from physllm.pipeline.backbone import BackboneRunner
from physllm.pipeline.clips import ClipConfig, record_clips
from physllm.pipeline.describers import make_describer
from physllm.cues.rows import cue_rows
from physllm.pipeline.job import identity_columns
from physllm.shards.cache import open_cache
from physllm.shards.writer import write_video_shard
from physllm.cues.texts import TASK_DESCRIPTION
from physllm.train.data import ClipId, ShardClip, collate, make_target
from physllm.train.trainer import TrainConfig, TrainRecipe

BACKBONE = Path(__file__).resolve().parents[1] / "../shared/weights/rppg-toolbox/UBFC-rPPG_PhysNet_DiffNormalized.pth"
DATASET_DESCRIPTION = "Synthetic faces whose skin colour carries a known pulse."


def uncached_clips(records, runner, describer, clip_cfg) -> "itertools.cycle":
    """Endless training clips computed from the videos on demand, as a loop without a cache must."""
    def one_pass():
        for record in records:
            for clip in record_clips(record, clip_cfg):
                row = cue_rows([clip], runner, describer, record.fps)[0]
                yield ShardClip(ClipId(record.video_id, clip.clip_index, clip.first_frame), record.fps,
                           row["backbone_wave"], [row[f"feat_s{s}"] for s in range(1, 5)],
                           make_target(clip.ppg),
                           {"task": f"Dataset description: {DATASET_DESCRIPTION} {TASK_DESCRIPTION}",
                            "vision": row["description"], "stats": row["stats_text"]})
    while True:
        yield from one_pass()


def precompute(records, runner, describer, clip_cfg, root: Path) -> Path:
    cache = open_cache(root, "synthetic", {"bench": True, "clip_frames": clip_cfg.clip_frames})
    meta = {"config": {"bench": True}, "provenance": {"backbone": str(BACKBONE)},
            "dataset_description": DATASET_DESCRIPTION}
    for record in records:
        clips = list(record_clips(record, clip_cfg))
        rows = [identity_columns(record) | row for row in cue_rows(clips, runner, describer, record.fps)]
        write_video_shard(cache, record.video_id, rows, meta)
    return cache.path


def timed_steps(recipe: TrainRecipe, batches, steps: int) -> tuple[float, float]:
    """(samples/s, share of the time spent waiting for batches) over `steps` steps after one warm-up."""
    recipe.train_step(next(batches))
    wait = samples = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        t = time.perf_counter()
        batch = next(batches)
        wait += time.perf_counter() - t
        recipe.train_step(batch)
        samples += len(batch)
    elapsed = time.perf_counter() - start
    return samples / elapsed, wait / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default="minilm")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--subjects", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=13.0)  # 3 clips of 128 frames per video
    parser.add_argument("--backbone", type=Path, default=BACKBONE)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="physllm-bench-"))
    write_synthetic_dataset(work / "videos", SynthConfig(num_subjects=args.subjects, seconds=args.seconds))
    records = scan("synthetic", work / "videos")
    clip_cfg = ClipConfig()
    runner = BackboneRunner(args.backbone, device=None, batch_size=args.batch_size)
    describer = make_describer("fast")
    t = time.perf_counter()
    cache = precompute(records, runner, describer, clip_cfg, work / "cache")
    precompute_s = time.perf_counter() - t

    recipe = TrainRecipe(TrainConfig(shards=[str(cache)], llm=args.llm, batch_size=args.batch_size,
                                     out=str(work / "run")))
    recipe.setup()
    # Full batches only, as the uncached side makes: an epoch's last, short batch (9 clips make
    # 8 + 1) would time a step of one sample and halve the cached side's samples/s.
    cached_batches = (b for epoch in itertools.count() for b in recipe.train_stream.batches(epoch)
                      if len(b) == args.batch_size)
    cached, cached_wait = timed_steps(recipe, cached_batches, args.steps)
    clips = uncached_clips(records, runner, describer, clip_cfg)
    uncached_batches = (collate([next(clips) for _ in range(args.batch_size)], recipe.model.tokenize_cues)
                        for _ in itertools.count())
    uncached, uncached_wait = timed_steps(recipe, uncached_batches, args.steps)
    recipe.cleanup()

    n_clips = recipe.train_stream.num_clips
    print(f"llm {args.llm}, batch {args.batch_size}, {args.steps} timed steps, device {recipe.device}")
    print(f"precompute: {len(records)} videos, {n_clips} clips in {precompute_s:.1f} s (paid once)")
    print(f"cached   : {cached:7.2f} samples/s, data wait {100 * cached_wait:.1f}% of step time")
    print(f"uncached : {uncached:7.2f} samples/s, data wait {100 * uncached_wait:.1f}% of step time")
    print(f"speed-up : {cached / uncached:.1f}x (target >= 10x); cached data wait "
          f"{'<' if cached_wait < 0.1 else '>='} 10%")


if __name__ == "__main__":
    main()
