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
A done video whose shard no longer matches its manifest entry (missing, or another sha256:
damaged on disk or in a copy) is computed again, as is one whose source video changed.

Why not Ray Data (the first version used it): on a 2-core machine its executor added ~2 s of
start-up and ~4-9 s between a worker finishing a part and the driver seeing it, and its flat_map
packed a whole video's parts into one block, so memory grew with the video's length. Routing
parts by hand is twenty lines and removes all three (bench/precompute.py).

The cache key holds every setting that changes the cues (backbone weights' sha256, describer
provenance, clip and face settings, the dataset's root); workers, batch sizes and the address do
not change a cue and are not in it. A run with nothing pending does not start Ray.
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
from physllm.data_catalog.record import VideoRecord
from physllm.errors import DatasetError, PhysllmError, VideoError
from physllm.pipeline.clips import Clip, ClipConfig, expected_clips, record_clips
from physllm.progress import console, make_progress
from physllm.shards.cache import Cache, damaged_videos, file_sha256, open_cache
from physllm.shards.manifest import source_fingerprint
from physllm.shards.schema import SCHEMA_VERSION
from physllm.shards.writer import record_failure, write_video_shard


def default_cache_root() -> Path:
    return Path(os.environ.get("PHYSLLM_CACHE", "physllm-cache"))


@dataclass
class PrecomputeConfig:
    dataset: str
    root: Path
    cache_root: Path = field(default_factory=default_cache_root)  # $PHYSLLM_CACHE or ./physllm-cache
    backbone: Path | None = None  # a PhysNet .pth; None trains one on the synthetic data (backbone.py)
    describer: str = "fast"  # "fast" (offline measurements) or "llava" (the paper's)
    describer_model: str | None = None  # LLaVA id or folder; None is the paper's llava-1.5-7b
    clips: ClipConfig = field(default_factory=ClipConfig)  # T=128, 72x72, Haar face settings
    batch_size: int = 8  # clips per part and per PhysNet batch: ~16 MB of crops in flight per part
    num_backbone_workers: int | None = None  # actors, each loading PhysNet and the describer once; None: auto
    num_gpus_per_worker: float = 0.0  # > 0 asks Ray for GPUs; the models then run on CUDA
    decode_cpus: float = 0.5  # Ray CPUs a decoder claims; the workers share the rest of a CPU node
    address: str | None = None  # a Ray cluster; None: $RAY_ADDRESS, else a local instance
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"batch_size": ">= 1", "num_backbone_workers": ">= 1", "num_gpus_per_worker": ">= 0",
              "decode_cpus": "> 0"}


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
        "root": str(Path(cfg.root).resolve()),
        "backbone": {"name": backbone.name, "sha256": file_sha256(backbone)},
        "describer": describer_provenance,
        "preprocessing": asdict(cfg.clips) | {"input": "DiffNormalized per clip"},
        "schema_version": SCHEMA_VERSION,
    }


def check_backbone_file(path: str | Path) -> Path:
    """The backbone's path once PhysNet loads from it here, so that a bad file is refused
    before Ray starts rather than inside every worker."""
    if not Path(path).is_file():
        raise PhysllmError(f"{path}: backbone checkpoint not found (expected a PhysNet .pth)")
    from physllm.model.physnet import load_physnet

    load_physnet(path)
    return Path(path)


def resolve_backbone(cfg: PrecomputeConfig) -> Path:
    if cfg.backbone is not None:
        return check_backbone_file(cfg.backbone)
    from physllm.pipeline.backbone import default_backbone

    return default_backbone(cfg.cache_root, cfg.dataset, cfg.root)


# ---------------------------------------------------------------- the Ray stages


def decode_video(record: VideoRecord, clip_cfg: ClipConfig, batch_size: int) -> Iterator[dict]:
    """A streaming task: one video → its parts {video_id, fps, part, last, clips: list[Clip], error}."""
    head = {"video_id": record.video_id, "fps": clip_cfg.fps or record.fps}
    part, clips = 0, []
    try:
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

    def cues(self, part: dict) -> dict:
        clips: list[Clip] = part.pop("clips")
        part["rows"] = cue_rows(clips, self.runner, self.describer, part["fps"]) if clips else []
        return part


def cue_rows(clips: list[Clip], runner, describer, fps: float) -> list[dict]:
    """The per-clip cue columns of shards/schema.py (identity columns are added by the driver)."""
    from physllm.pipeline.stats_cues import compute_stats_batch, render_stats_text

    out = runner.run(np.stack([c.frames for c in clips]))
    descriptions = describer.describe(clips)
    stats = compute_stats_batch(out.wave, fps)
    rows = []
    for i, clip in enumerate(clips):
        row = {"clip_index": clip.clip_index, "first_frame": clip.first_frame, "num_frames": len(clip.frames),
               "ppg": clip.ppg, "backbone_wave": out.wave[i], "rgb_mean": clip.rgb_mean,
               "face_fraction": clip.face_fraction, "keyframe_index": clip.keyframe_index,
               "description": descriptions[i]}
        row.update({f"feat_s{s + 1}": feature[i] for s, feature in enumerate(out.features)})
        row.update(stats[i].as_columns(render_stats_text(stats[i])))
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the driver


@dataclass
class _VideoParts:
    rows: list[dict] = field(default_factory=list)
    parts_seen: int = 0
    num_parts: int | None = None  # known once the last part arrives
    error: str = ""

    def complete(self) -> bool:
        return self.num_parts is not None and self.parts_seen == self.num_parts


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
    rows = sorted((identity | row for row in parts.rows), key=lambda r: r["clip_index"])
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
    records = {r.video_id: r for r in scan(cfg.dataset, cfg.root)}
    if not records:
        raise DatasetError(f"{cfg.root}: no videos of dataset {cfg.dataset!r} found")
    backbone = resolve_backbone(cfg)
    provenance = make_describer(cfg.describer, cfg.describer_model).provenance()  # loads no model
    settings = cue_settings(cfg, backbone, provenance)
    cache = open_cache(cfg.cache_root, canonical_name(cfg.dataset), settings)
    pending = cache.manifest.pending({vid: source_fingerprint(r.path) for vid, r in records.items()})
    pending += recompute_damaged(cache, records, pending)
    tally = _Tally()
    if pending:
        run_config = asdict(cfg) | {"backbone": str(backbone.resolve())}  # the file, not only its hash
        file_metadata = {"config": json.loads(json.dumps(run_config, default=str)),
                         "provenance": settings, "dataset_description": get_dataset(cfg.dataset).title}
        tally = _run_ray_job(cfg, backbone, cache, [records[v] for v in pending], file_metadata)
    done, failed = cache.manifest.done(), cache.manifest.failed()
    if not done:
        reasons = "; ".join(f"{vid}: {e['reason']}" for vid, e in list(failed.items())[:5])
        raise PhysllmError(f"all {len(records)} videos of {cfg.root} failed, no shard written "
                           f"(cache {cache.path}). First reasons: {reasons}")
    return CacheSummary(cache.path, cache.key, len(done), len(failed), sum(e["clips"] for e in done.values()),
                        len(pending), tally.clips, time.time() - started,
                        {vid: e["reason"] for vid, e in failed.items()}, tally.first_seconds, tally.first_clips)


class _Tally(NamedTuple):
    clips: int = 0  # clips computed
    first_seconds: float = 0.0  # from Ray's start to the first part's cues
    first_clips: int = 0  # the clips of that part


def _worker_plan(cfg: PrecomputeConfig, cluster_cpus: float) -> tuple[int, dict, int]:
    """How many CueWorkers, the Ray resources of each, and its torch threads.

    On CPUs, workers run one torch thread each: PhysNet gains only 1.6x from a second thread here
    (bench/precompute.py: 423 vs 261 frames/s), so two one-thread workers beat one with two.
    Decoding and cropping cost ~1.1 ms of CPU per frame against PhysNet's ~3.8 on one thread,
    so by default a quarter of the cores is left to the decoders and workers get the rest. A GPU
    worker needs one CPU to feed it, leaving the node's other cores to decoding, the bottleneck
    once PhysNet runs on a GPU.
    """
    if cfg.num_gpus_per_worker > 0:
        return cfg.num_backbone_workers or 1, {"num_cpus": 1, "num_gpus": cfg.num_gpus_per_worker}, 1
    workers = cfg.num_backbone_workers or max(1, round(0.75 * cluster_cpus))
    cpus = max(0.5, (cluster_cpus - cfg.decode_cpus) / workers)
    return workers, {"num_cpus": cpus}, max(1, round(cpus))


def _run_ray_job(cfg: PrecomputeConfig, backbone: Path, cache: Cache, pending: list[VideoRecord],
                 file_metadata: dict) -> _Tally:
    """Stream `pending` through decoders and CueWorkers on Ray; returns what it computed."""
    import ray

    from physllm.pipeline.ray_runtime import init_ray
    from rich.progress import TextColumn

    started = time.time()
    init_ray(cfg.address)
    cluster_cpus = ray.cluster_resources().get("CPU", 1.0)
    num_workers, resources, threads = _worker_plan(cfg, cluster_cpus)
    worker_class = ray.remote(CueWorker).options(**resources)
    workers = [worker_class.remote(str(backbone.resolve()), cfg.describer, cfg.describer_model, cfg.batch_size,
                                   threads, cfg.num_gpus_per_worker > 0)
               for _ in range(num_workers)]  # created first: they load while decoding starts
    # A decoder runs ahead of the workers by at most two parts: memory is bounded by the parts in
    # flight (`batch_size` clips each), never by a video's or the dataset's length.
    decoder = ray.remote(decode_video).options(num_cpus=cfg.decode_cpus, num_returns="streaming",
                                               _generator_backpressure_num_objects=2)
    max_decoders = max(1, int(cluster_cpus - resources["num_cpus"] * num_workers))
    by_id = {r.video_id: r for r in pending}
    videos: dict[str, _VideoParts] = {}
    total_clips = sum(expected_clips(r.num_frames, r.fps, cfg.clips) for r in pending)
    clips_done, first = 0, _Tally()
    with make_progress(TextColumn("{task.fields[rate]}")) as progress:
        video_task = progress.add_task("videos", total=len(pending), rate="")
        clip_task = progress.add_task("clips", total=total_clips, rate="")
        for part in _route_parts(pending, workers, decoder, cfg, max_decoders):
            parts = videos.setdefault(part["video_id"], _VideoParts())
            parts.rows += part["rows"]
            parts.parts_seen += 1
            if part["last"]:
                parts.num_parts, parts.error = part["part"] + 1, part["error"]
            clips_done += len(part["rows"])
            if part["rows"] and not first.first_clips:
                first = _Tally(first_seconds=time.time() - started, first_clips=len(part["rows"]))
            progress.update(clip_task, advance=len(part["rows"]),
                            rate=f"{clips_done / (time.time() - started):.2f} clips/s")
            if parts.complete():
                finish_video(cache, by_id[part["video_id"]], videos.pop(part["video_id"]), file_metadata,
                             cfg.clips)
                progress.advance(video_task)
    return first._replace(clips=clips_done)


def _route_parts(videos: list[VideoRecord], workers: list, decoder, cfg: PrecomputeConfig,
                 max_decoders: int) -> Iterator[dict]:
    """Hand each decoded part to a free worker; yield the workers' parts as they finish.

    Parts go from a decoder to a worker through Ray's object store, never through the driver; a
    decoder whose next part is ready waits (backpressure) until a worker is free to take it. Each
    worker holds two parts, the one it computes and the next, so it never waits on the driver.
    """
    import ray

    todo, decoding, free = list(reversed(videos)), [], [w for w in workers for _ in range(2)]
    running: dict = {}  # ObjectRef of a worker's result -> that worker
    while todo or decoding or running:
        while todo and len(decoding) <= max_decoders:  # one more waits in Ray's queue to start at once
            decoding.append(decoder.remote(todo.pop(), cfg.clips, cfg.batch_size))
        ready, _ = ray.wait(list(running) + (decoding if free else []), num_returns=1)
        if isinstance(ready[0], ray.ObjectRefGenerator):
            try:
                part_ref = next(ready[0])
            except StopIteration:
                decoding.remove(ready[0])
                continue
            worker = free.pop()
            running[worker.cues.remote(part_ref)] = worker
            continue
        free.append(running.pop(ready[0]))
        try:
            part = ray.get(ready[0])
        except ray.exceptions.RayError as exc:
            raise PhysllmError(f"a precompute worker failed ({type(exc).__name__}); the videos already "
                               f"written are kept, run the command again to resume.\n{exc}") from exc
        yield part
