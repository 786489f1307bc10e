"""`physllm precompute`: the Ray job that turns a dataset into a shard cache of cues.

Shape (docs/ARCHITECTURE.md, "pipeline/"), on Ray core:

    pending videos ─decode tasks (streaming: frames → face crops → clips, in parts of `batch_size` clips)─►
    CueWorker actors (PhysNet → describer → stats; loaded once each) ─► driver: one shard per video

Decoders are streaming generator tasks; the driver hands each part, as an object reference, to a
free worker, so frames go from decoder to worker through the object store and a decoder stalls
(Ray's generator backpressure) while every worker is busy: memory is bounded by the parts in
flight, not by a video or the dataset. One part is `batch_size` clips of one video: PhysNet wants
batches anyway, and a part says whether it is the video's last, so the driver knows when a video
is complete without a shuffle. A video that fails to decode (or whose ground truth does not fit)
sends its reason in its last part; the driver records it in the manifest and the others go on
(rPPG-Toolbox silently lost videos, docs/FACTS.md, "pitfalls"). The driver alone writes shards and the
manifest: one writer, atomic files (shards/writer.py), so a kill at any instant resumes cleanly.
`cache_root` may be object storage (`s3://bucket/prefix`, shards/storage.py), written by the
driver alone. `root` (the videos) is a path every node sees, or a URL the driver copies to its
disk before scanning (staging.py); a decoder on another node fetches its video's files to the
same place on its own disk first. The cache is keyed by the URL, not by that copy.
A done video whose shard no longer matches its manifest entry (missing, or another sha256:
damaged on disk or in a copy) is computed again, as is one whose source video changed.

On a cluster (`--address` or RAY_ADDRESS) the same driver runs; worker_plan.py sizes each
CueWorker for one node and pins it there, keeping a decoder's CPU free on every node, and refuses
a plan the cluster cannot place before anything starts. A worker takes parts only once it has
started, so one waiting for resources holds none; while nothing progresses the driver says what
it waits for every 15 s and stops after `wait_timeout_s`. Faults: Ray restarts a CueWorker whose
process dies and re-runs the calls it held (max_restarts, max_task_retries); a decoder lost
mid-video, or a worker lost for good (its node gone), sends that video round again from its
first frame, at most three times. Parts are keyed by index and a shard is written once, when all
its video's parts are back, so a retry never duplicates or mixes rows.

Why not Ray Data (the first version used it): on a 2-core machine its executor added ~2 s of
start-up and ~4-9 s between a worker finishing a part and the driver seeing it, and its flat_map
packed a whole video's parts into one block, so memory grew with the video's length. Routing
parts by hand (`PartRouter`, router.py) removes all three (bench/precompute.py).

The cache key holds every setting that changes the cues (backbone weights' sha256, describer
provenance, clip and face settings, the dataset's root or URL); workers, batch sizes, the address
and the staging folder do not change a cue and are not in it. A run with nothing pending does not start Ray.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple


from physllm.data_catalog import canonical_name, get_dataset, scan
from physllm.cues.rows import cue_rows
from physllm.data_catalog.record import VideoRecord
from physllm.errors import DatasetError, PhysllmError
from physllm.pipeline.clips import Clip, ClipConfig, expected_clips, record_clips
from physllm.pipeline.router import PartRouter, VideoParts
from physllm.pipeline.staging import RecordFiles, StagedRoot, default_staging_root, stage
from physllm.progress import console, make_progress
from physllm.shards import storage
from physllm.shards.cache import Cache, damaged_videos, default_cache_root, file_sha256, open_cache
from physllm.shards.manifest import source_fingerprint
from physllm.shards.schema import SCHEMA_VERSION
from physllm.shards.writer import record_failure, write_video_shard


@dataclass
class PrecomputeConfig:
    dataset: str
    root: Path  # the dataset's folder, or a URL (s3://bucket/prefix) copied to --staging-root first
    cache_root: Path = field(default_factory=default_cache_root)  # $PHYSLLM_CACHE or ./physllm-cache; or s3://bucket/prefix
    # Where a URL --root is copied: $PHYSLLM_STAGING or ./physllm-staging, made absolute; decoders
    # on other nodes copy their videos' files to the same path on their own disks
    staging_root: Path = field(default_factory=default_staging_root)
    backbone: Path | None = None  # a PhysNet .pth or a released name (ubfc-rppg, pure, scamps, bp4d, ma-ubfc; model/released.py); None trains one on the synthetic data (backbone.py)
    describer: str = "fast"  # "fast" (offline measurements) or "llava" (the paper's)
    describer_model: str | None = None  # LLaVA id or folder; None is the paper's llava-1.5-7b
    clips: ClipConfig = field(default_factory=ClipConfig)  # T=128, 72x72, Haar face settings
    batch_size: int = 8  # clips per part and per PhysNet batch on a GPU (on a CPU, backbone.CPU_BATCH): ~16 MB of crops a part
    num_backbone_workers: int | None = None  # actors, each loading PhysNet and the describer once; None: auto
    num_gpus_per_worker: float = 0.0  # > 0 asks Ray for GPUs; the models then run on CUDA
    decode_cpus: float = 0.5  # Ray CPUs a decoder claims; the workers share the rest of a CPU node
    address: str | None = None  # a Ray cluster; None: $RAY_ADDRESS, else a local instance
    # Seconds with nothing progressing (no worker started, no part back) before the job stops and
    # says what it waited for; a notice is printed every 15 s before that. Ten minutes covers a
    # worker loading LLaVA-7B from a slow disk; a job waiting on a busy cluster's CPUs ends.
    wait_timeout_s: float = 600.0
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"batch_size": ">= 1", "num_backbone_workers": ">= 1", "num_gpus_per_worker": ">= 0",
              "decode_cpus": "> 0", "wait_timeout_s": ">= 1"}


@dataclass
class CacheSummary:
    path: Path
    key: str
    videos_done: int
    videos_failed: int
    clips: int
    computed_videos: int  # videos computed by this run (0 when everything was cached)
    computed_clips: int
    seconds: float
    failures: dict[str, str]  # video_id -> reason
    # From Ray's start to the first cues back (Ray, the workers loading, one part through them),
    # and that part's clips: the fixed cost a run pays before its steady rate. 0 when cached.
    startup_seconds: float = 0.0
    startup_clips: int = 0


# ---------------------------------------------------------------- settings and provenance


def cue_settings(cfg: PrecomputeConfig, backbone: Path, describer_provenance: dict) -> dict:
    """Everything that changes a cue: this dict is hashed into the cache key."""
    return {
        "dataset": canonical_name(cfg.dataset),
        "root": storage.url(cfg.root) if storage.is_remote(cfg.root) else str(Path(cfg.root).resolve()),
        "backbone": {"name": backbone.name, "sha256": file_sha256(backbone)},
        "describer": describer_provenance,
        "preprocessing": asdict(cfg.clips) | {"input": "DiffNormalized per clip"},
        "schema_version": SCHEMA_VERSION,
    }


def check_backbone_file(spec: str | Path) -> Path:
    """The backbone's file (a released name fetched first, `model/released.py`) once PhysNet
    loads from it here, so that a bad file is refused before Ray starts rather than inside
    every worker."""
    from physllm.model.physnet import load_physnet
    from physllm.model.released import RELEASED, backbone_path

    path = backbone_path(spec)
    if not path.is_file():
        raise PhysllmError(f"{path}: backbone checkpoint not found (expected a PhysNet .pth or a "
                           f"released name: {', '.join(RELEASED)})")
    load_physnet(path)
    return path


def resolve_backbone(cfg: PrecomputeConfig, local_root: Path) -> Path:
    """`--backbone`, or the default one trained on the synthetic videos under `local_root`."""
    if cfg.backbone is not None:
        return check_backbone_file(cfg.backbone)
    from physllm.pipeline.backbone_training import default_backbone

    if storage.is_remote(cfg.cache_root):  # the trained default is a local file PhysNet loads
        raise PhysllmError(f"--cache-root {storage.url(cfg.cache_root)} is object storage: pass "
                           f"--backbone (a PhysNet .pth on a path every node sees)")
    return default_backbone(cfg.cache_root, cfg.dataset, local_root)


# ---------------------------------------------------------------- the Ray stages


def decode_video(record: VideoRecord, clip_cfg: ClipConfig, batch_size: int,
                 files: RecordFiles | None = None) -> Iterator[dict]:
    """A streaming task: one video → its parts {video_id, fps, part, last, clips: list[Clip], error}.
    `files`: a staged video's files, fetched first where this node has no copy (staging.py)."""
    head = {"video_id": record.video_id, "fps": clip_cfg.fps or record.fps}
    part, clips = 0, []
    try:
        if files is not None:
            files.fetch_missing()
        for clip in record_clips(record, clip_cfg):
            clips.append(clip)
            if len(clips) == batch_size:
                yield head | {"part": part, "last": False, "clips": clips, "error": ""}
                part, clips = part + 1, []
        error = ""
    except Exception as exc:  # noqa: BLE001 -- any failure fails this video only, with its reason
        error, clips = f"{type(exc).__name__}: {exc}", []
    yield head | {"part": part, "last": True, "clips": clips, "error": error}


class CueWorker:
    """Ray actor: PhysNet + describer loaded once; a part's clips → its cue columns."""

    def __init__(self, backbone: str, describer: str, describer_model: str | None, batch_size: int,
                 threads: int, use_gpu: bool):
        from physllm.pipeline.backbone import BackboneRunner
        from physllm.pipeline.describers import make_describer

        device = "cuda" if use_gpu else "cpu"
        self.runner = BackboneRunner(backbone, device=device, batch_size=batch_size, threads=threads)
        self.describer = make_describer(describer, describer_model)

    def ready(self) -> bool:
        """Answers once the models are loaded: the router hands parts only to started workers."""
        return True

    def cues(self, part: dict) -> dict:
        clips: list[Clip] = part.pop("clips")
        part["rows"] = cue_rows(clips, self.runner, self.describer, part["fps"]) if clips else []
        return part


# ---------------------------------------------------------------- the driver


def identity_columns(record: VideoRecord, clip_cfg: ClipConfig) -> dict:
    """The columns every clip of a video shares. `fps` is the clips' rate (the video is resampled
    to it); the source's own rate is kept in the metadata."""
    return {"dataset": record.dataset, "subject": record.subject, "session": record.session,
            "video_id": record.video_id, "fps": clip_cfg.fps or record.fps, "hr": record.hr_bpm,
            "metadata": json.dumps(record.metadata | {"source_fps": round(record.fps, 3)}, sort_keys=True)}


def finish_video(cache: Cache, record: VideoRecord, parts: VideoParts, file_metadata: dict,
                 clip_cfg: ClipConfig) -> str:
    """Write the shard, or record the failure; returns the failure reason ('' when done)."""
    if parts.error:
        console.print(f"[yellow]warning:[/yellow] {record.video_id} skipped: {parts.error}",
                      highlight=False, soft_wrap=True)
        record_failure(cache, record.video_id, parts.error)
        return parts.error
    identity = identity_columns(record, clip_cfg)
    rows = sorted((identity | row for row in parts.rows()), key=lambda r: r["clip_index"])
    write_video_shard(cache, record.video_id, rows, file_metadata, source_fingerprint(record.path))
    return ""


def recompute_damaged(cache: Cache, records: dict[str, VideoRecord], pending: list[str]) -> list[str]:
    """The videos, done and not already pending, whose shard no longer matches the manifest
    (missing, damaged or replaced): they are computed again, with a warning naming each."""
    damaged = {vid: problem for vid, problem in damaged_videos(cache).items()
               if vid in records and vid not in pending}
    for video_id, problem in damaged.items():
        console.print(f"[yellow]warning:[/yellow] {video_id}: {problem}; computing it again",
                      highlight=False, soft_wrap=True)
    return list(damaged)


def run_precompute(cfg: PrecomputeConfig) -> CacheSummary:
    """Compute the cues of every pending video of `cfg.dataset` into its cache; see the module doc."""
    from physllm.pipeline.describers import make_describer

    started = time.time()
    staged = stage(cfg.root, cfg.staging_root) if storage.is_remote(cfg.root) else None
    local_root = staged.root.local if staged else Path(cfg.root)
    records = {r.video_id: r for r in scan_root(cfg.dataset, local_root, staged)}
    if not records:
        raise DatasetError(f"{storage.url(cfg.root)}: no videos of dataset {cfg.dataset!r} found")
    backbone = resolve_backbone(cfg, local_root)
    provenance = make_describer(cfg.describer, cfg.describer_model).provenance()  # loads no model
    settings = cue_settings(cfg, backbone, provenance)
    cache = open_cache(cfg.cache_root, canonical_name(cfg.dataset), settings)
    pending = cache.manifest.pending({vid: source_fingerprint(r.path) for vid, r in records.items()})
    pending += recompute_damaged(cache, records, pending)
    tally = _Tally()
    if pending:
        run_config = asdict(cfg) | {"backbone": str(backbone.resolve()),  # the file, not only its hash
                                    "root": storage.url(cfg.root), "cache_root": storage.url(cfg.cache_root)}
        file_metadata = {"config": json.loads(json.dumps(run_config, default=str)),
                         "provenance": settings, "dataset_description": get_dataset(cfg.dataset).title}
        fetch = {vid: staged.record_files(records[vid]) for vid in pending} if staged else {}
        tally = _run_ray_job(cfg, backbone, cache, [records[v] for v in pending], file_metadata, fetch)
    done, failed = cache.manifest.done(), cache.manifest.failed()
    if not done:
        reasons = "; ".join(f"{vid}: {e['reason']}" for vid, e in list(failed.items())[:5])
        raise PhysllmError(f"all {len(records)} videos of {storage.url(cfg.root)} failed, no shard written "
                           f"(cache {cache.path}). First reasons: {reasons}")
    return CacheSummary(cache.path, cache.key, len(done), len(failed), sum(e["clips"] for e in done.values()),
                        len(pending), tally.clips, time.time() - started,
                        {vid: e["reason"] for vid, e in failed.items()}, tally.first_seconds, tally.first_clips)


def scan_root(dataset: str, local_root: Path, staged: StagedRoot | None) -> list[VideoRecord]:
    """The dataset's videos; a staged copy's errors name its URL, not the staging folder."""
    try:
        return scan(dataset, local_root)
    except DatasetError as error:
        raise staged.local_error(error) if staged else error from None


class _Tally(NamedTuple):
    clips: int = 0  # clips computed
    first_seconds: float = 0.0  # from Ray's start to the first part's cues
    first_clips: int = 0  # the clips of that part


WORKER_RESTARTS = 4  # Ray restarts a killed CueWorker this often, retrying its calls (max_task_retries)


def _start_worker(placement, backbone: Path, cfg: PrecomputeConfig):
    """One CueWorker pinned to its planned node (worker_plan.py); Ray restarts it if its process
    dies and re-runs the calls it held, so a killed worker costs only the parts it was computing."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    actor = ray.remote(CueWorker).options(
        num_cpus=placement.num_cpus, num_gpus=placement.num_gpus, max_restarts=WORKER_RESTARTS,
        max_task_retries=-1, scheduling_strategy=NodeAffinitySchedulingStrategy(placement.node_id, soft=False))
    return actor.remote(str(backbone.resolve()), cfg.describer, cfg.describer_model, cfg.batch_size,
                        placement.threads, placement.num_gpus > 0)


def _run_ray_job(cfg: PrecomputeConfig, backbone: Path, cache: Cache, pending: list[VideoRecord],
                 file_metadata: dict, fetch: dict[str, RecordFiles]) -> _Tally:
    """Stream `pending` through decoders and CueWorkers on Ray; returns what it computed. `fetch`:
    the files of each staged video, which its decoder fetches where its node has no copy."""
    import ray

    from physllm.pipeline.ray_runtime import init_ray
    from physllm.pipeline.worker_plan import alive_nodes, plan_workers
    from rich.progress import TextColumn

    started = time.time()
    init_ray(cfg.address)
    nodes = alive_nodes()
    plan = plan_workers(nodes, cfg.num_backbone_workers, cfg.num_gpus_per_worker, cfg.decode_cpus)
    if len(nodes) > 1:
        console.print(f"precompute on {len(nodes)} Ray nodes: {plan.summary()}", highlight=False, soft_wrap=True)
    workers = [_start_worker(p, backbone, cfg) for p in plan.workers]  # first: they load while decoding starts
    # A decoder runs ahead of the workers by at most two parts: memory is bounded by the parts in
    # flight (`batch_size` clips each), never by a video's or the dataset's length. The router
    # retries a lost decoder itself (max_retries=0 here), as a whole video.
    decoder = ray.remote(decode_video).options(num_cpus=cfg.decode_cpus, num_returns="streaming",
                                               _generator_backpressure_num_objects=2, max_retries=0)
    router = PartRouter(workers, decoder, cfg, plan, fetch)
    by_id = {r.video_id: r for r in pending}
    total_clips = sum(expected_clips(r.num_frames, r.fps, cfg.clips) for r in pending)
    clips_done, first = 0, _Tally()
    try:
        with make_progress(TextColumn("{task.fields[rate]}")) as progress:
            video_task = progress.add_task("videos", total=len(pending), rate="")
            clip_task = progress.add_task("clips", total=total_clips, rate="")
            for video_id, clips, finished in router.run(pending):
                clips_done += clips
                if clips > 0 and not first.first_clips:
                    first = _Tally(first_seconds=time.time() - started, first_clips=clips)
                progress.update(clip_task, advance=clips,
                                rate=f"{clips_done / (time.time() - started):.2f} clips/s")
                if finished is not None:
                    finish_video(cache, by_id[video_id], finished, file_metadata, cfg.clips)
                    progress.advance(video_task)
    finally:  # a worker still waiting for resources would otherwise take them after the job
        for worker in workers:
            ray.kill(worker)
    return first._replace(clips=clips_done)
