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
parts by hand (`_PartRouter`) removes all three (bench/precompute.py).

The cache key holds every setting that changes the cues (backbone weights' sha256, describer
provenance, clip and face settings, the dataset's root or URL); workers, batch sizes, the address
and the staging folder do not change a cue and are not in it. A run with nothing pending does not start Ray.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from physllm.data_catalog import canonical_name, get_dataset, scan
from physllm.cues.rows import cue_rows
from physllm.data_catalog.record import VideoRecord
from physllm.errors import DatasetError, PhysllmError, VideoError
from physllm.pipeline.clips import Clip, ClipConfig, expected_clips, record_clips
from physllm.pipeline.staging import RecordFiles, StagedRoot, default_staging_root, stage
from physllm.progress import console, make_progress
from physllm.shards import storage
from physllm.shards.cache import Cache, damaged_videos, file_sha256, open_cache
from physllm.shards.manifest import source_fingerprint
from physllm.shards.schema import SCHEMA_VERSION
from physllm.shards.writer import record_failure, write_video_shard


def default_cache_root() -> Path:
    return Path(os.environ.get("PHYSLLM_CACHE", "physllm-cache"))


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
    batch_size: int = 8  # clips per part and per PhysNet batch: ~16 MB of crops in flight per part
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
    from physllm.pipeline.backbone import default_backbone

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


@dataclass
class _VideoParts:
    """One video's cue rows as its parts come back, keyed by part index (a part seen twice counts once)."""

    parts: dict[int, list[dict]] = field(default_factory=dict)
    num_parts: int | None = None  # known once the last part arrives
    error: str = ""

    def add(self, part: dict) -> int:
        """Take a worker's part; returns the clips it adds."""
        if part["last"]:
            self.num_parts, self.error = part["part"] + 1, part["error"]
        if part["part"] in self.parts:
            return 0
        self.parts[part["part"]] = part["rows"]
        return len(part["rows"])

    def complete(self) -> bool:
        return self.num_parts is not None and len(self.parts) == self.num_parts

    def num_clips(self) -> int:
        return sum(map(len, self.parts.values()))

    def rows(self) -> list[dict]:
        return [row for index in sorted(self.parts) for row in self.parts[index]]


def identity_columns(record: VideoRecord, clip_cfg: ClipConfig) -> dict:
    """The columns every clip of a video shares. `fps` is the clips' rate (the video is resampled
    to it); the source's own rate is kept in the metadata."""
    return {"dataset": record.dataset, "subject": record.subject, "session": record.session,
            "video_id": record.video_id, "fps": clip_cfg.fps or record.fps, "hr": record.hr_bpm,
            "metadata": json.dumps(record.metadata | {"source_fps": round(record.fps, 3)}, sort_keys=True)}


def finish_video(cache: Cache, record: VideoRecord, parts: _VideoParts, file_metadata: dict,
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


MAX_VIDEO_ATTEMPTS = 3  # a video whose decoder or worker is lost this often is recorded failed
WORKER_RESTARTS = 4  # Ray restarts a killed CueWorker this often, retrying its calls (max_task_retries)
NOTICE_EVERY_S = 15.0  # with nothing progressing, say what the job waits for this often (or twice per timeout)


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
    router = _PartRouter(workers, decoder, cfg, plan, fetch)
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


class _PartRouter:
    """Hand each decoded part to a free, started worker; yield (video_id, clips gained, the
    video's parts once complete or None) as workers finish parts.

    Parts go from a decoder to a worker through Ray's object store, never through the driver; a
    decoder whose next part is ready waits (backpressure) until a worker is free to take it. Each
    worker holds two parts, the one it computes and the next, so it never waits on the driver.
    A worker takes parts only once it has started, so one that Ray cannot place never holds
    any. A decoder lost mid-video, or a worker lost for good (its node gone, its restarts spent),
    sends the whole video round again (its parts so far are dropped; a part is keyed by its
    index, so none counts twice), at most MAX_VIDEO_ATTEMPTS times. With nothing progressing the
    router says what it waits for every NOTICE_EVERY_S, and stops after `cfg.wait_timeout_s`.
    """

    def __init__(self, workers: list, decoder, cfg: PrecomputeConfig, plan, fetch: dict[str, RecordFiles]):
        import ray

        self.decoder, self.cfg, self.plan, self.fetch = decoder, cfg, plan, fetch
        self.starting = {w.ready.remote(): w for w in workers}  # ready() ref -> worker
        self.num_workers, self.started, self.lost = len(workers), 0, set()
        self.free: list = []  # a started worker appears twice: the part it computes and the next
        self.running: dict = {}  # cues() ref -> (worker, video_id, attempt)
        self.decoding: dict = {}  # ObjectRefGenerator -> (video_id, attempt)
        self.todo: list[str] = []
        self.records: dict[str, VideoRecord] = {}
        self.attempt: dict[str, int] = {}
        self.videos: dict[str, _VideoParts] = {}
        self._ray = ray
        # a worker Ray will not bring back: dead, or its restart pinned to a node that has left
        self.worker_lost = (ray.exceptions.RayActorError, ray.exceptions.ActorUnschedulableError)

    def run(self, pending: list[VideoRecord]) -> Iterator[tuple[str, int, "_VideoParts | None"]]:
        ray = self._ray
        self.records = {r.video_id: r for r in pending}
        self.attempt = {r.video_id: 1 for r in pending}
        self.todo = [r.video_id for r in reversed(pending)]
        notice_every = min(NOTICE_EVERY_S, self.cfg.wait_timeout_s / 2)
        last_event, notice_at = time.time(), notice_every
        while self.todo or self.decoding or self.running:
            while self.todo and len(self.decoding) <= self.plan.decoder_slots:  # one more waits in Ray's queue
                video_id = self.todo.pop()
                generator = self.decoder.remote(self.records[video_id], self.cfg.clips, self.cfg.batch_size,
                                                self.fetch.get(video_id))
                self.decoding[generator] = (video_id, self.attempt[video_id])
            waitables = list(self.starting) + list(self.running) + (list(self.decoding) if self.free else [])
            ready, _ = ray.wait(waitables, num_returns=1, timeout=notice_every)
            if not ready:
                idle = time.time() - last_event
                if idle >= self.cfg.wait_timeout_s:
                    raise PhysllmError(f"precompute made no progress for {idle:.0f} s (wait_timeout_s): "
                                       f"{self.state()}. The videos already written are kept; free "
                                       f"resources on the cluster (or ask for less) and run the command again.")
                if idle >= notice_at:
                    console.print(f"waiting {idle:.0f} s: {self.state()}", highlight=False, soft_wrap=True)
                    notice_at += notice_every
                continue
            last_event, notice_at = time.time(), notice_every
            if ready[0] in self.starting:
                self._worker_started(ready[0])
            elif isinstance(ready[0], ray.ObjectRefGenerator):
                yield from self._route_next_part(ready[0])
            else:
                yield from self._part_done(ready[0])

    def state(self) -> str:
        """What the job holds and waits for, in one line."""
        available = self._ray.available_resources()
        free = ", ".join(f"{name} {available.get(name, 0):g}" for name in ("CPU", "GPU"))
        waiting = (f", {len(self.starting)} not started yet (loading, or waiting for "
                   f"{self.plan.workers[0].resources()} on their node)" if self.starting else "")
        return (f"{self.started} of {self.num_workers} CueWorkers started{waiting}, {len(self.lost)} lost; "
                f"{len(self.running)} part(s) computing, {len(self.decoding)} video(s) decoding, "
                f"{len(self.todo)} queued; free on the cluster now: {free}")

    def _worker_started(self, ref) -> None:
        worker = self.starting.pop(ref)
        try:
            self._ray.get(ref)
        except self.worker_lost as exc:
            self._lose(worker, f"a CueWorker failed to start ({type(exc).__name__}): {exc}")
            return
        self.started += 1
        self.free += [worker, worker]

    def _lose(self, worker, reason: str) -> None:
        """A worker Ray will not bring back: no part goes to it again."""
        if id(worker) not in self.lost:
            self.lost.add(id(worker))
            self.free = [w for w in self.free if w is not worker]
            console.print(f"[yellow]warning:[/yellow] {reason.splitlines()[0]}", highlight=False, soft_wrap=True)
        if len(self.lost) == self.num_workers:
            raise PhysllmError(f"every CueWorker was lost ({reason.splitlines()[0]}); the videos already "
                               f"written are kept, run the command again to resume")

    def _route_next_part(self, generator) -> Iterator[tuple[str, int, "_VideoParts | None"]]:
        video_id, attempt = self.decoding[generator]
        try:
            part_ref = next(generator)
        except StopIteration:
            del self.decoding[generator]
            return
        except self._ray.exceptions.RayError as exc:
            del self.decoding[generator]
            yield from self._retry(video_id, attempt, f"its decoder was lost ({type(exc).__name__})")
            return
        worker = self.free.pop()
        self.running[worker.cues.remote(part_ref)] = (worker, video_id, attempt)

    def _part_done(self, ref) -> Iterator[tuple[str, int, "_VideoParts | None"]]:
        worker, video_id, attempt = self.running.pop(ref)
        try:
            part = self._ray.get(ref)
        except self.worker_lost as exc:  # restarts spent or its node gone
            self._lose(worker, f"a CueWorker was lost for good ({type(exc).__name__})")
            yield from self._retry(video_id, attempt, f"its CueWorker was lost ({type(exc).__name__})")
            return
        except self._ray.exceptions.RayError as exc:  # e.g. the part's decoder died under it
            self.free.append(worker)
            yield from self._retry(video_id, attempt, f"a part was lost ({type(exc).__name__})")
            return
        self.free.append(worker)
        if self.attempt[video_id] != attempt:
            return  # a part of an attempt already given up
        parts = self.videos.setdefault(video_id, _VideoParts())
        gained = parts.add(part)
        finished = self.videos.pop(video_id) if parts.complete() else None
        yield video_id, gained, finished

    def _retry(self, video_id: str, attempt: int, reason: str) -> Iterator[tuple[str, int, "_VideoParts | None"]]:
        """Send a video round again from its first frame, or record it failed after the last try."""
        if self.attempt[video_id] != attempt:
            return  # this attempt is already being retried
        self.attempt[video_id] = attempt + 1
        dropped = self.videos.pop(video_id, _VideoParts()).num_clips()
        for generator, (other, _) in list(self.decoding.items()):
            if other == video_id:
                del self.decoding[generator]
                self._ray.cancel(generator)
        if attempt >= MAX_VIDEO_ATTEMPTS:
            yield video_id, -dropped, _VideoParts(error=f"lost {attempt} times on the cluster; last: {reason}")
            return
        console.print(f"[yellow]warning:[/yellow] {video_id}: {reason}; computing it again "
                      f"(attempt {attempt + 1} of {MAX_VIDEO_ATTEMPTS})", highlight=False, soft_wrap=True)
        self.todo.append(video_id)
        yield video_id, -dropped, None
