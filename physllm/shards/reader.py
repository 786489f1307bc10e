"""Reading shard caches: validate them together, then stream record batches shard by shard.

Only shards the manifest lists as done are read, so leftovers of an interrupted precompute
(temp files, a renamed shard whose manifest entry was never written) are invisible here.
Opening reads each listed shard's footer only. Rows are read when batches are asked for: a
shard's bytes are read once, checked against the sha256 its manifest entry recorded, and only
those checked bytes are parsed, with Parquet's page checksums verified as well (the CRC-32
of `PageHeader.crc`, https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift,
written by writer.py). Shards are read through storage.py, from a local folder or object
storage (`s3://…`) alike. So a damaged shard is refused with its path, never trained on; memory
holds one video's shard at a time, never the dataset.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from physllm.errors import CacheError
from physllm.shards import storage
from physllm.shards.cache import file_sha256, find_caches, load_cache
from physllm.shards.schema import (SCHEMA_VERSION, clip_frames, decode_file_metadata,
                                   feature_shapes)

SHA256_MISMATCH = "its sha256 is not the one the manifest recorded when it was written"


@dataclass(frozen=True)
class CacheRef:
    dataset: str
    key: str
    path: Path
    settings: dict
    file_metadata: dict  # schema_version, version, config, provenance, dataset_description

    @property
    def dataset_description(self) -> str:
        return self.file_metadata.get("dataset_description", "")


@dataclass(frozen=True)
class VideoRef:
    video_id: str
    dataset: str
    subject: str
    session: str
    clips: int
    shard: Path
    metadata: dict
    cache_key: str
    sha256: str  # of the whole shard file, as the manifest recorded it when the shard was written


class ShardSet:
    """The finished videos of one or more caches that share one schema (clip length, features)."""

    def __init__(self, caches: list[CacheRef], videos: list[VideoRef], schema: pa.Schema):
        self.caches = caches
        self.schema = schema
        self._videos = {v.video_id: v for v in videos}

    @property
    def clip_frames(self) -> int:
        return clip_frames(self.schema)

    @property
    def feature_shapes(self) -> list[tuple[int, ...]]:
        return feature_shapes(self.schema)

    @property
    def num_clips(self) -> int:
        return sum(v.clips for v in self._videos.values())

    def videos(self) -> list[VideoRef]:
        return list(self._videos.values())

    def video(self, video_id: str) -> VideoRef:
        if video_id not in self._videos:
            raise CacheError(f"video {video_id!r} is not among the finished videos of "
                             f"{', '.join(str(c.path) for c in self.caches)}")
        return self._videos[video_id]

    def verify(self, video_ids: Iterable[str] | None = None) -> None:
        """Check the shards of `video_ids` (default: all) against their manifest sha256 before
        any work starts, so that a run is refused up front rather than part way through; the
        reads check again, for a shard damaged while a run goes on."""
        for ref in [self.video(v) for v in (self._videos if video_ids is None else video_ids)]:
            with refused_if_damaged(ref.shard):
                if file_sha256(ref.shard) != ref.sha256:
                    raise CacheError(damaged_message(ref.shard, SHA256_MISMATCH))

    def iter_batches(self, video_ids: Iterable[str] | None = None,
                     columns: Sequence[str] | None = None,
                     batch_size: int = 64) -> Iterator[pa.RecordBatch]:
        """Record batches of at most `batch_size` clips, video by video (a batch never spans
        two shards), in the order of `video_ids` (default: all, sorted by cache then id)."""
        refs = [self.video(v) for v in (self._videos if video_ids is None else video_ids)]
        columns = self._check_columns(columns)
        for ref in refs:
            with refused_if_damaged(ref.shard):
                yield from open_verified(ref).iter_batches(batch_size=batch_size, columns=columns)

    def read_video(self, video_id: str, columns: Sequence[str] | None = None) -> pa.Table:
        ref = self.video(video_id)
        with refused_if_damaged(ref.shard):
            return open_verified(ref).read(columns=self._check_columns(columns))

    def _check_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        unknown = [c for c in columns if c not in self.schema.names]
        if unknown:
            raise CacheError(f"no column(s) {unknown} in the shards; they have "
                             f"{', '.join(self.schema.names)}")
        return list(columns)


def open_shards(paths: Path | Sequence[Path]) -> ShardSet:
    """Open caches (each path a cache folder or a folder holding caches, searched recursively).

    Refuses, with CacheError: a path holding no cache, a listed shard that is missing or of
    another schema version, caches whose clip length or feature shapes differ, and a video
    present in two caches (which of the two was meant is not ours to guess).
    """
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    caches, videos, schema, schema_source = [], [], None, None
    for path in paths:
        found = find_caches(path)
        if not found:
            raise CacheError(f"{path}: no physllm cache here (expected manifest.json in it or "
                             f"in a folder below it; run `physllm precompute` first)")
        for cache_path in found:
            cache = load_cache(cache_path)
            file_metadata = {}
            for video_id, entry in sorted(cache.manifest.done().items()):
                shard = cache.shards_dir / entry["shard"]
                shard_schema = _read_checked_schema(shard)
                file_metadata = file_metadata or decode_file_metadata(shard_schema.metadata)
                shard_schema = shard_schema.remove_metadata()
                if schema is None:
                    schema, schema_source = shard_schema, shard
                elif not shard_schema.equals(schema):
                    raise CacheError(_mismatch_message(shard, shard_schema, schema_source, schema))
                videos.append(VideoRef(video_id, cache.dataset, entry["subject"],
                                       entry["session"], entry["clips"], shard,
                                       entry["metadata"], cache.key, entry["sha256"]))
            caches.append(CacheRef(cache.dataset, cache.key, cache.path, cache.settings,
                                   file_metadata))
    _refuse_duplicates(videos)
    if schema is None:
        raise CacheError(f"no finished videos in {', '.join(map(str, paths))}: the manifest "
                         f"lists none as done (see `physllm cache info`)")
    return ShardSet(caches, videos, schema)


def open_verified(ref: VideoRef) -> pq.ParquetFile:
    """The shard of `ref`, parsed from bytes whose sha256 matches its manifest entry, with
    every page's checksum verified as it is read; a mismatch is a CacheError naming the shard.

    Hashing the very bytes that are parsed leaves no gap between the check and the read. It
    costs one sha256 pass per shard per read (docs/BENCHMARKS.md, "Speed, cache and model size").
    """
    with refused_if_damaged(ref.shard):
        data = storage.read_bytes(ref.shard)
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise CacheError(damaged_message(ref.shard, SHA256_MISMATCH))
        return pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)


@contextmanager
def refused_if_damaged(shard: Path) -> Iterator[None]:
    """An I/O or Arrow error while reading `shard` (gone, unreadable, a page whose checksum
    fails) becomes the CacheError of a damaged shard."""
    try:
        yield
    except (OSError, pa.ArrowException) as error:
        raise CacheError(damaged_message(shard, str(error))) from None


def damaged_message(shard: Path, problem: str) -> str:
    return (f"{storage.url(shard)}: damaged shard, refused ({problem}); run `physllm cache verify` to list "
            f"the damaged shards, then `physllm precompute` again to recompute them")


def _read_checked_schema(shard: Path) -> pa.Schema:
    if not storage.is_file(shard):
        raise CacheError(f"{storage.url(shard)}: listed as done in the manifest but missing; run "
                         f"`physllm cache verify` and re-run precompute")
    try:
        with storage.open_input(shard) as f:
            schema = pq.read_schema(f)
    except (pa.ArrowInvalid, OSError) as error:
        raise CacheError(f"{storage.url(shard)}: unreadable Parquet ({error}); run `physllm cache verify`") from None
    version = decode_file_metadata(schema.metadata).get("schema_version")
    if version != SCHEMA_VERSION:
        raise CacheError(f"{shard}: shard schema version {version}, this physllm reads version "
                         f"{SCHEMA_VERSION}; re-run `physllm precompute` to rebuild the cache")
    return schema


def _mismatch_message(shard: Path, found: pa.Schema, ref_shard: Path, ref: pa.Schema) -> str:
    return (f"{shard} holds clips of {clip_frames(found)} frames with features "
            f"{feature_shapes(found)}, but {ref_shard} holds {clip_frames(ref)} frames with "
            f"features {feature_shapes(ref)}; open caches built with the same clip settings "
            f"together")


def _refuse_duplicates(videos: list[VideoRef]) -> None:
    seen: dict[str, VideoRef] = {}
    for video in videos:
        if video.video_id in seen:
            first = seen[video.video_id].shard.parent.parent
            raise CacheError(f"video {video.video_id!r} is in two caches, {first} and "
                             f"{video.shard.parent.parent}; pass the cache folder you mean")
        seen[video.video_id] = video
