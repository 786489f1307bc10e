"""What verified shard reads cost per epoch (shards/reader.py): the trainer's columns of every
shard read through `ShardSet.iter_batches` (sha256 of each shard against its manifest entry,
then Parquet page checksums) against the same reads straight from pyarrow with no check.

By default it builds a cache the size of `physllm demo`'s (20 synthetic subjects × 30 s, T=128:
140 clips) with the real precompute and a random PhysNet (the shards' size does not depend on
the weights); `--cache` reads an existing cache instead, e.g. physllm-demo/cache/synthetic/<key>.

    python bench/verified_reads.py                      # build a demo-size cache, then time
    python bench/verified_reads.py --cache PATH --repeats 10
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch

from physllm.model.physnet import PhysNet
from physllm.shards.reader import open_shards
from physllm.train.data import ClipStream


def build_demo_size_cache(work: Path, subjects: int, seconds: float) -> Path:
    from physllm.render.synthetic import SynthConfig, write_synthetic_dataset
    from physllm.pipeline.job import PrecomputeConfig, run_precompute

    write_synthetic_dataset(work / "data", SynthConfig(num_subjects=subjects, seconds=seconds, seed=0))
    torch.manual_seed(0)
    torch.save(PhysNet().state_dict(), work / "physnet.pth")
    summary = run_precompute(PrecomputeConfig("synthetic", work / "data", cache_root=work / "cache",
                                              backbone=work / "physnet.pth"))
    return summary.path


def seconds_of(read) -> float:
    started = time.perf_counter()
    read()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="an existing cache folder (default: build one)")
    parser.add_argument("--subjects", type=int, default=20, help="synthetic subjects (the demo's 20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per video (the demo's 30)")
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per way of reading")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or build_demo_size_cache(Path(tmp), args.subjects, args.seconds)
        shards = open_shards(cache)
        columns = ClipStream(shards, [], tokenize=dict).columns  # what the trainer reads
        refs = shards.videos()
        size = sum(ref.shard.stat().st_size for ref in refs)

        def verified():
            for _ in shards.iter_batches(columns=columns, batch_size=32):
                pass

        def unchecked():
            for ref in refs:
                for _ in pq.ParquetFile(ref.shard).iter_batches(batch_size=32, columns=columns):
                    pass

        def sha256_only():
            for ref in refs:
                hashlib.sha256(ref.shard.read_bytes()).hexdigest()

        verified()  # warm the page cache for all three alike
        times = {name: [seconds_of(read) for _ in range(args.repeats)]
                 for name, read in (("unchecked", unchecked), ("verified", verified),
                                    ("sha256 alone", sha256_only))}
        print(f"{len(refs)} shards, {shards.num_clips} clips, {size / 1e6:.1f} MB; "
              f"{len(columns)} columns read; median of {args.repeats} epochs:")
        for name, seconds in times.items():
            print(f"  {name:13s} {statistics.median(seconds) * 1e3:7.1f} ms per epoch")
        extra = statistics.median(times["verified"]) - statistics.median(times["unchecked"])
        print(f"  verification adds {extra * 1e3:.1f} ms per epoch "
              f"({extra / shards.num_clips * 1e6:.0f} µs per clip)")


if __name__ == "__main__":
    main()
