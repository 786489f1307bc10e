"""Where precompute's CueWorkers go: a plan sized per node of the Ray cluster it finds.

Ray places an actor on one node, so an actor's resources must fit one node, never only the
cluster's sum (asking 1.25 CPUs of a cluster of 1-CPU nodes waits forever). Each node keeps
`decode_cpus` free for a decoder: decoding and face cropping feed every worker, and actors
that take a node whole starve them (Ray's scheduling model:
https://docs.ray.io/en/latest/ray-core/scheduling/resources.html). Each worker is pinned to the
node it was planned for (NodeAffinitySchedulingStrategy, hard), so the plan placed is the plan
computed, and a worker whose node has left is not restarted somewhere that would take a
decoder's CPU.

On CPUs a worker runs one torch thread: PhysNet gains only 1.6x from a second thread here
(bench/precompute.py: 423 vs 261 frames/s), so two one-thread workers beat one with two; and
torch's threads wait on each other when a core is taken by something else (a matmul loop ran 12x
slower on two threads than on one beside a busy process, measured for issue 25). Decoding and
cropping cost ~0.6 ms of a core per frame against PhysNet's ~2.0 on one thread (bench/precompute.py),
so by default a node gets round(0.75 x its CPUs) workers sharing what the decoder leaves. A GPU
worker takes `num_gpus_per_worker` of a node's GPUs and up to one CPU to feed it; decoding is
then the bottleneck, and the node's other cores decode.

A plan that cannot be placed (GPUs asked where there are none, more GPU workers than GPUs, no
node big enough for a decoder) is refused before anything starts, naming what was asked and
what the cluster has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from physllm.errors import PhysllmError

WORKERS_PER_CPU = 0.75  # the rest of a node's CPU decodes (see the module docstring)
GPU_WORKER_CPUS = 1.0  # one core feeds a GPU worker
_EPS = 1e-9  # Ray's fractional resources are decimals; keep 3 × 0.5 + 0.5 from missing 2


@dataclass(frozen=True)
class Node:
    node_id: str
    ip: str
    cpus: float
    gpus: float

    def __str__(self) -> str:
        return f"{self.ip} ({self.node_id[:8]}): CPU {self.cpus:g}, GPU {self.gpus:g}"


@dataclass(frozen=True)
class Placement:
    """One CueWorker: the node it is pinned to, its Ray resources and its torch threads."""

    node_id: str
    num_cpus: float
    num_gpus: float
    threads: int

    def resources(self) -> dict:
        return {"CPU": self.num_cpus} | ({"GPU": self.num_gpus} if self.num_gpus else {})


@dataclass(frozen=True)
class WorkerPlan:
    workers: list[Placement]
    decoder_slots: int  # decoders that run beside the workers at once, over the whole cluster

    def summary(self) -> str:
        per_node: dict[str, list[Placement]] = {}
        for p in self.workers:
            per_node.setdefault(p.node_id[:8], []).append(p)
        nodes = "; ".join(f"{node}: {len(ps)} × {ps[0].resources()}" for node, ps in per_node.items())
        return f"{len(self.workers)} CueWorker(s) ({nodes}), {self.decoder_slots} decoder(s) at once"


def alive_nodes() -> list[Node]:
    """The cluster's live nodes and their total CPUs and GPUs (ray.nodes())."""
    import ray

    return [Node(n["NodeID"], n.get("NodeManagerAddress", "?"), float(n["Resources"].get("CPU", 0.0)),
                 float(n["Resources"].get("GPU", 0.0)))
            for n in ray.nodes() if n.get("Alive")]


def plan_workers(nodes: list[Node], num_workers: int | None, gpus_per_worker: float,
                 decode_cpus: float) -> WorkerPlan:
    """Size CueWorkers per node; raise PhysllmError for a plan the cluster cannot place."""
    found = "; ".join(map(str, nodes)) or "none"
    if decode_cpus <= 0:
        raise PhysllmError(f"decode_cpus must be positive, got {decode_cpus:g}")
    if num_workers is not None and num_workers < 1:
        raise PhysllmError(f"--num-backbone-workers must be at least 1, got {num_workers}")
    if not any(n.cpus + _EPS >= decode_cpus for n in nodes):
        raise PhysllmError(f"cannot place the precompute job: a decoder asks {decode_cpus:g} CPU and "
                           f"no node has that many. Nodes found: {found}")
    if gpus_per_worker > 0:
        workers = _gpu_workers(nodes, num_workers, gpus_per_worker, decode_cpus, found)
    else:
        workers = _cpu_workers(nodes, num_workers, decode_cpus, found)
    return WorkerPlan(workers, _decoder_slots(nodes, workers, decode_cpus))


def _room(node: Node, decode_cpus: float) -> float:
    """The CPUs of a node left to workers once one decoder's are kept."""
    return node.cpus - decode_cpus


def _cpu_workers(nodes: list[Node], num_workers: int | None, decode_cpus: float, found: str) -> list[Placement]:
    usable = [n for n in nodes if _room(n, decode_cpus) > _EPS]
    if not usable:
        raise PhysllmError(f"cannot place the precompute job: a CueWorker needs CPU beside the "
                           f"{decode_cpus:g} a decoder keeps on its node, and no node has more than "
                           f"that. Nodes found: {found}")
    if num_workers is None:
        counts = {n.node_id: max(1, round(WORKERS_PER_CPU * n.cpus)) for n in usable}
    else:  # spread: each next worker goes where it gets the largest share
        counts = {n.node_id: 0 for n in usable}
        for _ in range(num_workers):
            best = max(usable, key=lambda n: _room(n, decode_cpus) / (counts[n.node_id] + 1))
            counts[best.node_id] += 1
    placements = []
    for node in usable:
        if counts[node.node_id]:
            share = _room(node, decode_cpus) / counts[node.node_id]
            placements += [Placement(node.node_id, share, 0.0, max(1, round(share)))] * counts[node.node_id]
    return placements


def _gpu_workers(nodes: list[Node], num_workers: int | None, gpus_per_worker: float,
                 decode_cpus: float, found: str) -> list[Placement]:
    fits = {n.node_id: int(math.floor(n.gpus / gpus_per_worker + _EPS)) if _room(n, decode_cpus) > _EPS else 0
            for n in nodes}
    capacity = sum(fits.values())
    wanted = capacity if num_workers is None else num_workers
    if capacity == 0 or wanted > capacity:
        raise PhysllmError(f"cannot place the precompute job: {wanted or 1} CueWorker(s) asking "
                           f"{gpus_per_worker:g} GPU each (and CPU beside a decoder's {decode_cpus:g}), "
                           f"the cluster's nodes hold {capacity}. Nodes found: {found}")
    placements, left = [], wanted
    while left:  # round-robin over the nodes, so a few workers spread rather than pile up
        for node in nodes:
            if left and placements.count(node.node_id) < fits[node.node_id]:
                placements.append(node.node_id)
                left -= 1
    counts = {node_id: placements.count(node_id) for node_id in set(placements)}
    by_id = {n.node_id: n for n in nodes}
    return [Placement(node_id, min(GPU_WORKER_CPUS, _room(by_id[node_id], decode_cpus) / counts[node_id]),
                      gpus_per_worker, 1) for node_id in placements]


def _decoder_slots(nodes: list[Node], workers: list[Placement], decode_cpus: float) -> int:
    slots = 0
    for node in nodes:
        left = node.cpus - sum(p.num_cpus for p in workers if p.node_id == node.node_id)
        slots += int(math.floor(left / decode_cpus + _EPS))
    return max(1, slots)
