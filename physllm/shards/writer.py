"""Writing one video's clips as one Parquet shard, atomically, then recording it in the manifest.

Order of operations (the reason a crash never leaves a half shard that looks whole):
the Parquet file is built in memory, then written whole (storage.write_atomic: on a local disk
`.<name>.<pid>.tmp` → fsync → os.replace to `<name>` → fsync the folder; on object storage
one PUT, so the object appears whole or not at all) → only then the manifest.
Ray Data's own writer names files `{uuid}_{block}` anew every run (docs/FACTS.md, "The stack"), so
per-video, skip-if-done shards are written here with pyarrow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

import physllm
from physllm.shards import storage
from physllm.shards.cache import Cache
from physllm.shards.schema import (FILE_METADATA_FIELDS, METADATA_PREFIX, SCHEMA_VERSION,
                                   encode_file_metadata, rows_to_table, schema_for_rows)

ROW_GROUP_SIZE = 32  # clips per row group: a reader decodes one group at a time (~3 MB at T=128)
# Each page carries its CRC-32 (Parquet's PageHeader.crc), which reader.py verifies as it reads:
# the file says by itself which page is damaged, to any Parquet reader that checks it.
CALLER_METADATA = tuple(f for f in FILE_METADATA_FIELDS if f not in ("schema_version", "version"))


@dataclass(frozen=True)
class ShardEntry:
    video_id: str
    path: Path
    clips: int
    sha256: str


def write_video_shard(cache: Cache, video_id: str, rows: Sequence[dict],
                      file_metadata: dict, source: str | None = None) -> ShardEntry:
    """Write `rows` (one dict per clip, columns of shards/schema.py) as the shard of `video_id`;
    `source` is the input video's fingerprint (manifest.source_fingerprint), for staleness.

    `file_metadata` holds config, provenance and dataset_description (with or without the
    "physllm." prefix); the schema and package versions are added here. A video without a
    single whole clip has no shard: record it with `record_failure` instead.
    """
    if not rows:
        raise ValueError(f"{video_id}: no clips to write; use record_failure for such a video")
    wrong = [r["video_id"] for r in rows if r["video_id"] != video_id]
    if wrong:
        raise ValueError(f"rows of {wrong[0]!r} passed as the shard of {video_id!r}")
    meta = {name.removeprefix(METADATA_PREFIX): value for name, value in file_metadata.items()}
    unknown = set(meta) - set(CALLER_METADATA)
    if unknown:
        raise ValueError(f"unknown file metadata {sorted(unknown)}; expected {CALLER_METADATA}")
    meta.update(schema_version=SCHEMA_VERSION, version=physllm.__version__)

    table = rows_to_table(rows, schema_for_rows(rows))
    table = table.replace_schema_metadata(encode_file_metadata(meta))
    path = cache.shard_path(video_id)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, row_group_size=ROW_GROUP_SIZE, write_page_checksum=True)
    data = buffer.getvalue().to_pybytes()
    storage.write_atomic(path, data)

    sha256 = hashlib.sha256(data).hexdigest()  # of the bytes written: no second read
    first = rows[0]
    cache.manifest.mark_done(video_id, path.name, len(rows), sha256, first["subject"],
                             first["session"], json.loads(first["metadata"]), source)
    return ShardEntry(video_id, path, len(rows), sha256)


def record_failure(cache: Cache, video_id: str, reason: str) -> None:
    """Record that `video_id` produced no shard, and why (shown by `physllm cache info`)."""
    cache.manifest.mark_failed(video_id, reason)

