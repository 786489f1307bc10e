"""`physllm precompute`: the Ray job that turns a dataset into a shard cache of cues.

Shape (../shared/DESIGN.md, "pipeline"): Ray Data streams

    pending videos ─flat_map(decode: frames → face crops → clips, in parts of `batch_size` clips)─►
    map(CueWorker actor pool: PhysNet → describer → stats) ─► driver: one shard per video

Why Ray Data: decoding (CPU tasks) and the models (actors that load once, on GPUs where asked)
run concurrently with backpressure, so memory stays bounded by the in-flight parts (each
`batch_size` clips), not by the dataset. One row is a *part* of a video rather than one clip:
PhysNet wants batches of clips anyway, and a part says which video it belongs to and whether it
is the last, so the driver knows when a video is complete without a shuffle (a groupby would hold
the whole dataset). A video that fails to decode (or whose ground truth does not fit) sends its
reason in its last part; the driver records it in the manifest and the others go on
(rPPG-Toolbox silently lost videos, DATASETS.md). The driver alone writes shards and the
manifest: one writer, atomic files (shards/writer.py), so a kill at any instant resumes cleanly.

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
from typing import Iterator

import numpy as np

import physllm
from physllm.data_catalog import canonical_name, get_dataset, scan
from physllm.data_catalog.record import VideoRecord
from physllm.errors import DatasetError, PhysllmError, VideoError
from physllm.pipeline.clips import Clip, ClipConfig, iter_clips
from physllm.progress import console, make_progress
from physllm.shards.cache import Cache, file_sha256, open_cache
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
    num_backbone_workers: int = 1  # actors, each loading PhysNet and the describer once
    num_gpus_per_worker: float = 0.0  # > 0 asks Ray for GPUs; the models then run on CUDA
    # Decoding runs ~3-4x faster than PhysNet on a CPU, so a decoder claims half a CPU and the
    # workers the rest: on 2 cores one worker's torch gets 2 threads (OMP_NUM_THREADS is 1 in Ray).
    decode_cpus: float = 0.5
    address: str | None = None  # a Ray cluster; None: $RAY_ADDRESS, else a local instance


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


def resolve_backbone(cfg: PrecomputeConfig) -> Path:
    if cfg.backbone is not None:
        if not Path(cfg.backbone).is_file():
            raise PhysllmError(f"{cfg.backbone}: backbone checkpoint not found (expected a PhysNet .pth)")
        return Path(cfg.backbone)
    from physllm.pipeline.backbone import default_backbone

    return default_backbone(cfg.cache_root, cfg.dataset, cfg.root)


# ---------------------------------------------------------------- the Ray stages


def decode_video(item: dict, records: dict[str, VideoRecord], clip_cfg: ClipConfig,
                 batch_size: int) -> Iterator[dict]:
    """flat_map: one video → its parts {video_id, fps, part, last, clips: list[Clip], error}."""
    record = records[item["video_id"]]
    head = {"video_id": record.video_id, "fps": record.fps}
    part, clips = 0, []
    try:
        for clip in iter_clips(record.frames(), record.ppg(), clip_cfg, record.video_id):
            clips.append(clip)
            if len(clips) == batch_size:
                yield head | {"part": part, "last": False, "clips": clips, "error": ""}
                part, clips = part + 1, []
        if part == 0 and not clips:
            raise VideoError(f"{record.path}: no whole clip of {clip_cfg.clip_frames} frames "
                             f"(the video holds {record.num_frames})")
        error = ""
    except Exception as exc:  # noqa: BLE001 -- any failure fails this video only, with its reason
        error, clips = f"{type(exc).__name__}: {exc}", []
    yield head | {"part": part, "last": True, "clips": clips, "error": error}


class CueWorker:
    """Actor: PhysNet + describer loaded once; a part's clips → its cue columns."""

    def __init__(self, backbone: str, describer: str, describer_model: str | None, batch_size: int,
                 threads: int, use_gpu: bool):
        from physllm.pipeline.backbone import BackboneRunner
        from physllm.pipeline.describers import make_describer

        device = "cuda" if use_gpu else "cpu"
        self.runner = BackboneRunner(backbone, device=device, batch_size=batch_size, threads=threads)
        self.describer = make_describer(describer, describer_model)

    def __call__(self, part: dict) -> dict:
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


def identity_columns(record: VideoRecord) -> dict:
    return {"dataset": record.dataset, "subject": record.subject, "session": record.session,
            "video_id": record.video_id, "fps": record.fps, "hr": record.hr_bpm,
            "metadata": json.dumps(record.metadata, sort_keys=True)}


def finish_video(cache: Cache, record: VideoRecord, parts: _VideoParts, file_metadata: dict) -> str:
    """Write the shard, or record the failure; returns the failure reason ('' when done)."""
    if parts.error:
        console.print(f"[yellow]warning:[/yellow] {record.video_id} skipped: {parts.error}",
                      highlight=False, soft_wrap=True)
        record_failure(cache, record.video_id, parts.error)
        return parts.error
    identity = identity_columns(record)
    rows = sorted((identity | row for row in parts.rows), key=lambda r: r["clip_index"])
    write_video_shard(cache, record.video_id, rows, file_metadata, source_fingerprint(record.path))
    return ""


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
    computed_clips = 0
    if pending:
        run_config = asdict(cfg) | {"backbone": str(backbone.resolve())}  # the file, not only its hash
        file_metadata = {"config": json.loads(json.dumps(run_config, default=str)),
                         "provenance": settings, "dataset_description": get_dataset(cfg.dataset).title}
        computed_clips = _run_ray_job(cfg, backbone, cache, [records[v] for v in pending], file_metadata)
    done, failed = cache.manifest.done(), cache.manifest.failed()
    if not done:
        reasons = "; ".join(f"{vid}: {e['reason']}" for vid, e in list(failed.items())[:5])
        raise PhysllmError(f"all {len(records)} videos of {cfg.root} failed, no shard written "
                           f"(cache {cache.path}). First reasons: {reasons}")
    return CacheSummary(cache.path, cache.key, len(done), len(failed), sum(e["clips"] for e in done.values()),
                        len(pending), computed_clips, time.time() - started,
                        {vid: e["reason"] for vid, e in failed.items()})


def _cluster_cpus() -> float:
    import ray

    return ray.cluster_resources().get("CPU", 1.0)


def _run_ray_job(cfg: PrecomputeConfig, backbone: Path, cache: Cache, pending: list[VideoRecord],
                 file_metadata: dict) -> int:
    """The Ray Data pipeline over `pending`; returns the number of clips computed."""
    import ray

    from physllm.pipeline.ray_runtime import init_ray
    from rich.progress import TextColumn

    init_ray(cfg.address)
    by_id = {r.video_id: r for r in pending}
    worker_cpus = max(1.0, (_cluster_cpus() - cfg.decode_cpus) / cfg.num_backbone_workers)
    ds = (ray.data.from_items([{"video_id": vid} for vid in by_id])
          .flat_map(decode_video, num_cpus=cfg.decode_cpus,
                    fn_kwargs={"records": by_id, "clip_cfg": cfg.clips, "batch_size": cfg.batch_size})
          .map(CueWorker, compute=ray.data.ActorPoolStrategy(size=cfg.num_backbone_workers),
               num_cpus=worker_cpus, **({"num_gpus": cfg.num_gpus_per_worker} if cfg.num_gpus_per_worker else {}),
               fn_constructor_kwargs={"backbone": str(backbone.resolve()), "describer": cfg.describer,
                                      "describer_model": cfg.describer_model, "batch_size": cfg.batch_size,
                                      "threads": round(worker_cpus), "use_gpu": cfg.num_gpus_per_worker > 0}))
    videos: dict[str, _VideoParts] = {}
    total_clips = sum(r.num_frames // cfg.clips.clip_frames for r in pending)
    clips_done, started = 0, time.time()
    with make_progress(TextColumn("{task.fields[rate]}")) as progress:
        video_task = progress.add_task("videos", total=len(pending), rate="")
        clip_task = progress.add_task("clips", total=total_clips, rate="")
        for part in ds.iter_rows():
            parts = videos.setdefault(part["video_id"], _VideoParts())
            parts.rows += part["rows"]
            parts.parts_seen += 1
            if part["last"]:
                parts.num_parts, parts.error = part["part"] + 1, part["error"]
            clips_done += len(part["rows"])
            progress.update(clip_task, advance=len(part["rows"]),
                            rate=f"{clips_done / (time.time() - started):.2f} clips/s")
            if parts.complete():
                finish_video(cache, by_id[part["video_id"]], videos.pop(part["video_id"]), file_metadata)
                progress.advance(video_task)
    return clips_done
