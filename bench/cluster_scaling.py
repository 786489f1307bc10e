"""Precompute on a local multi-node Ray cluster: time per video per worker as nodes are added.

Checks bench/capacity.py's model of a cluster on `ray.cluster_utils.Cluster` (the way Ray tests
multi-node code, and tests/fixtures/ray_cluster.py builds one): 1, 2, 3 nodes of one CPU each, the
same rendered videos precomputed into a fresh cache on each (`--address` of the cluster, the fast
describer, the given backbone). Prints per cluster size the wall time, the time after the first
part (Ray, the workers loading), the CueWorkers placed, the steady time per video per worker, and
what the capacity model predicts for it from the per-stage costs (`--costs`).

The simulated nodes are processes on this machine and share its cores: Ray's CPUs are logical,
so even one node's decoder and worker run on both physical cores, and past two workers the
cluster cannot go faster; the model is given the machine's cores, not the nodes' (a real cluster
would give it nodes × cores per node).

    python bench/cluster_scaling.py [--nodes 1 2 3] [--videos 6] [--seconds 30] [--backbone PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PHYSLLM_QUIET", "1")

BACKBONE = Path(__file__).resolve().parents[1] / "../shared/weights/rppg-toolbox/UBFC-rPPG_PhysNet_DiffNormalized.pth"
COSTS = Path(__file__).with_name("stage_costs.json")


def predicted_s_per_video_per_worker(frames: float, costs: dict, workers: int, cores: int) -> float:
    """The capacity model on CPUs: each CueWorker runs PhysNet and the describer on one thread
    (a worker cannot go faster than that), decoders run beside it, and all the stages of every
    frame share `cores` physical cores. Ray's CPUs are logical: a node of one Ray CPU still runs
    its decoder and its worker as two processes that the machine's cores share."""
    worker_ms = costs["physnet_cpu"] + costs["describer_fast"]
    rate = min(workers * 1000 / worker_ms, cores * 1000 / sum(costs.values()))  # frames/s
    return frames / rate * workers

def run_on_cluster(nodes: int, root: Path, backbone: Path, work: Path) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from physllm.pipeline.job import PrecomputeConfig, run_precompute
    from physllm.pipeline.ray_runtime import init_ray
    from physllm.pipeline.worker_plan import alive_nodes, plan_workers

    node_args = {"num_cpus": 1, "object_store_memory": 96 * 1024**2}
    cluster = Cluster(initialize_head=True, head_node_args=node_args)
    try:
        for _ in range(nodes - 1):
            cluster.add_node(**node_args)
        cluster.wait_for_nodes()
        init_ray(cluster.address)
        cfg = PrecomputeConfig("synthetic", root, cache_root=work / f"cache-{nodes}-{time.time_ns()}",
                               backbone=backbone, address=cluster.address)
        plan = plan_workers(alive_nodes(), cfg.num_backbone_workers, 0.0, cfg.decode_cpus)
        summary = run_precompute(cfg)
        shutil.rmtree(cfg.cache_root, ignore_errors=True)
        return {"nodes": nodes, "workers": len(plan.workers), "seconds": summary.seconds,
                "startup_s": summary.startup_seconds, "clips": summary.computed_clips,
                "startup_clips": summary.startup_clips, "videos": summary.computed_videos}
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    from physllm.render.synthetic import SynthConfig, is_written_with, write_synthetic_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--backbone", type=Path, default=BACKBONE)
    parser.add_argument("--costs", type=Path, default=COSTS, help="per-stage ms of a core per frame (bench/capacity.py)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="physllm-cluster-"))
    root = work / "videos"
    synth = SynthConfig(num_subjects=args.videos, seconds=args.seconds)
    if not is_written_with(root, synth):
        write_synthetic_dataset(root, synth, workers=2)
    costs = json.loads(args.costs.read_text())["ms_per_frame"]
    physical = os.cpu_count() or 1
    frames = args.seconds * 30
    print(f"{args.videos} videos of {args.seconds:g} s; nodes of 1 Ray CPU on this machine's {physical} cores; "
          f"model: {sum(costs.values()):.2f} ms of a core per frame, {costs['physnet_cpu'] + costs['describer_fast']:.2f} "
          f"of them in a worker's one thread ({args.costs.name})")
    print("| nodes | CueWorkers | wall s | start-up s | steady s | s per video per worker | model | measured / model |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.nodes:
        r = run_on_cluster(n, root.resolve(), args.backbone.resolve(), work)
        steady = r["seconds"] - r["startup_s"]
        videos_after = r["videos"] * (1 - r["startup_clips"] / r["clips"])  # the first part's share left out
        measured = steady * r["workers"] / videos_after
        model = predicted_s_per_video_per_worker(frames, costs, r["workers"], physical)
        print(f"| {n} | {r['workers']} | {r['seconds']:.1f} | {r['startup_s']:.1f} | {steady:.1f} | {measured:.1f} | "
              f"{model:.1f} | {measured / model:.2f} |", flush=True)


if __name__ == "__main__":
    main()
