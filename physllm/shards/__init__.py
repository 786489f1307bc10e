"""The on-disk contract between the precompute pipeline and the trainer: Parquet shards in a
content-addressed cache (docs/ARCHITECTURE.md, "shards/")."""

from physllm.shards.cache import (Cache, CacheInfo, VerifyReport, cache_dir, cache_info,
                                  cache_key, list_caches, load_cache, open_cache, verify_cache)
from physllm.shards.manifest import Manifest
from physllm.shards.reader import CacheRef, ShardSet, VideoRef, open_shards
from physllm.shards.schema import SCHEMA_VERSION, rows_to_table, shard_schema, to_numpy
from physllm.shards.writer import ShardEntry, record_failure, write_video_shard

__all__ = [
    "SCHEMA_VERSION", "Cache", "CacheInfo", "CacheRef", "Manifest", "ShardEntry", "ShardSet",
    "VerifyReport", "VideoRef", "cache_dir", "cache_info", "cache_key", "list_caches",
    "load_cache", "open_cache", "open_shards", "record_failure", "rows_to_table",
    "shard_schema", "to_numpy", "verify_cache", "write_video_shard",
]
