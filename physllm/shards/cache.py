"""The content-addressed shard cache: `<cache_root>/<dataset>/<key>/`.

key = the first 16 hex digits of sha256 over the canonical JSON of every setting that changes
the cues (docs/ARCHITECTURE.md, "shards/"): the same settings reopen the same folder and a
changed setting makes a new one. A cache folder holds

    settings.json              exactly what made the key
    manifest.json              done / failed per video (manifest.py)
    shards/<safe-id>.parquet   one shard per video, listed in the manifest once whole

The cache root is a local folder or an object-store URL such as `s3://bucket/prefix`; every
file operation goes through storage.py, which says how writes stay atomic on each.
This module creates, lists, describes and verifies caches; writer.py and reader.py move rows.
`CacheRoot`, `CacheKey` and `CacheVerify` are the options of `physllm cache ls|info|verify`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pyarrow.parquet as pq

from physllm.config import arg, opt
from physllm.errors import CacheError
from physllm.shards import storage
from physllm.shards.manifest import MANIFEST_NAME, Manifest, atomic_write_text
from physllm.shards.schema import SCHEMA_VERSION, decode_file_metadata

SETTINGS_NAME = "settings.json"
SHARDS_DIR = "shards"
KEY_CHARS = 16  # 64 bits: no collision among any realistic number of settings
CACHE_ROOT_HELP = ("Folder or object-store URL (s3://bucket/prefix) holding the caches (<root>/<dataset>/<key>/); "
                   "default $PHYSLLM_CACHE or ./physllm-cache.")
KEY_HELP = "A cache key, or a unique prefix of one."


def default_cache_root() -> Path:
    return Path(os.environ.get("PHYSLLM_CACHE", "physllm-cache"))


@dataclass
class CacheRoot:
    """`physllm cache ls`: where the caches are."""

    cache_root: Path = opt(CACHE_ROOT_HELP, default_factory=default_cache_root)


@dataclass
class CacheKey:
    """`physllm cache info`: one cache, by its key."""

    key: str = arg(KEY_HELP)
    cache_root: Path = opt(CACHE_ROOT_HELP, default_factory=default_cache_root)


@dataclass
class CacheVerify:
    """`physllm cache verify`: one cache by its key, or every cache."""

    key: Optional[str] = arg(KEY_HELP + " Default: every cache.", default=None)
    cache_root: Path = opt(CACHE_ROOT_HELP, default_factory=default_cache_root)


def canonical_json(settings: dict) -> str:
    """One spelling per settings dict: sorted keys, no spaces; tuples become lists."""
    try:
        return json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except TypeError as error:
        raise TypeError(f"cache settings must be plain JSON (str, numbers, lists, dicts): {error}") from None


def cache_key(settings: dict) -> str:
    """16 hex digits of sha256 over the canonical JSON of the settings."""
    return hashlib.sha256(canonical_json(settings).encode("utf-8")).hexdigest()[:KEY_CHARS]


def cache_dir(cache_root: Path, dataset: str, key: str) -> Path:
    return Path(cache_root) / dataset / key


def shard_name(video_id: str) -> str:
    """A file name for a video: readable, and unique even where two ids sanitise alike."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", video_id.replace("/", "__")).strip("._")
    digest = hashlib.sha256(video_id.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}.parquet"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with storage.open_input(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Cache:
    """One cache folder, open for reading or writing."""

    path: Path
    dataset: str
    key: str
    settings: dict
    manifest: Manifest

    @property
    def shards_dir(self) -> Path:
        return self.path / SHARDS_DIR

    def shard_path(self, video_id: str) -> Path:
        return self.shards_dir / shard_name(video_id)


def is_cache(path: Path) -> bool:
    return storage.is_file(Path(path) / MANIFEST_NAME)


def open_cache(cache_root: Path, dataset: str, settings: dict) -> Cache:
    """Create the cache for these settings, or reopen it (resume / reuse) if it exists."""
    if not dataset or "/" in dataset or dataset.startswith("."):
        raise CacheError(f"dataset name {dataset!r} cannot be a cache folder name; expected a "
                         f"plain name such as 'ubfc-rppg'")
    key = cache_key(settings)
    path = cache_dir(cache_root, dataset, key)
    requested = json.loads(canonical_json(settings))
    settings_path = path / SETTINGS_NAME
    if storage.exists(settings_path):
        stored = _read_json(settings_path)
        if stored != requested:
            raise CacheError(f"{storage.url(settings_path)} was made with other settings (differing: "
                             f"{', '.join(differing_keys(stored, requested))}); expected the "
                             f"settings whose key is {key}. Delete {storage.url(path)} to rebuild it.")
    else:
        try:
            storage.make_dirs(path / SHARDS_DIR)
            atomic_write_text(settings_path, json.dumps(requested, indent=1, sort_keys=True))
        except OSError as error:
            raise CacheError(f"cannot create the cache folder {storage.url(path)} ({error}); "
                             f"expected a writable folder or bucket for --cache-root") from None
    manifest = Manifest.load(path / MANIFEST_NAME)
    if not storage.exists(manifest.path):
        manifest.save()  # an empty manifest marks the folder as a cache from the start
    return Cache(path, dataset, key, requested, manifest)


def load_cache(path: Path) -> Cache:
    """Open an existing cache folder read-only (no folder is created)."""
    path = Path(path)
    if not is_cache(path):
        raise CacheError(f"{storage.url(path)} is not a physllm cache: expected {MANIFEST_NAME} and "
                         f"{SETTINGS_NAME} there (written by `physllm precompute`)")
    settings = _read_json(path / SETTINGS_NAME)
    return Cache(path, path.parent.name, path.name, settings, Manifest.load(path / MANIFEST_NAME))


def find_caches(path: Path) -> list[Path]:
    """`path` itself if it is a cache, else every cache below it, sorted."""
    path = Path(path)
    if not storage.is_dir(path):
        raise CacheError(f"{storage.url(path)}: no such folder; expected a cache folder or a "
                         f"folder of caches")
    if is_cache(path):
        return [path]
    return sorted(p.parent for p in storage.find_named(path, MANIFEST_NAME))


def differing_keys(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two (nested) dicts."""
    names = []
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        if isinstance(x, dict) and isinstance(y, dict):
            names += differing_keys(x, y, f"{prefix}{name}.")
        elif x != y or (name in a) != (name in b):
            names.append(prefix + name)
    return names


def _read_json(path: Path) -> dict:
    try:
        return json.loads(storage.read_text(path))
    except FileNotFoundError:
        raise CacheError(f"{storage.url(path)}: missing; expected the cache's settings JSON") from None
    except ValueError as error:
        raise CacheError(f"{storage.url(path)}: not valid JSON ({error})") from None


# ---------------------------------------------------------------- describing caches


@dataclass
class CacheInfo:
    dataset: str
    key: str
    path: Path
    settings: dict
    videos_done: int
    videos_failed: int
    clips: int
    size_bytes: int
    created: str
    failures: dict[str, str]  # video_id -> reason

    @property
    def backbone(self) -> str:
        return _setting_summary(self.settings.get("backbone"))

    @property
    def describer(self) -> str:
        return _setting_summary(self.settings.get("describer"))


def _setting_summary(value) -> str:
    """A short label for a setting that may be a plain value or a dict with a name."""
    if isinstance(value, dict):
        for name in ("name", "model", "checkpoint", "path"):
            if name in value:
                return str(value[name])
        return canonical_json(value)[:40]
    return "-" if value is None else str(value)


def describe_cache(path: Path) -> CacheInfo:
    cache = load_cache(path)
    done = cache.manifest.done()
    sizes = [storage.size(cache.shards_dir / e["shard"])
             for e in done.values() if storage.exists(cache.shards_dir / e["shard"])]
    failures = {vid: e["reason"] for vid, e in cache.manifest.failed().items()}
    return CacheInfo(cache.dataset, cache.key, cache.path, cache.settings, len(done),
                     len(failures), sum(e["clips"] for e in done.values()), sum(sizes),
                     cache.manifest.created, failures)


def list_caches(cache_root: Path) -> list[CacheInfo]:
    cache_root = Path(cache_root)
    if not storage.is_dir(cache_root):
        raise CacheError(f"{storage.url(cache_root)}: no such cache root; expected the folder `physllm "
                         f"precompute` writes to (--cache-root or $PHYSLLM_CACHE)")
    return [describe_cache(p) for p in find_caches(cache_root)]


def find_cache(cache_root: Path, key_or_prefix: str) -> Path:
    """The one cache under `cache_root` whose key starts with `key_or_prefix`."""
    caches = find_caches(cache_root)
    matches = [p for p in caches if p.name.startswith(key_or_prefix)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(f"{p.parent.name}/{p.name}" for p in caches) or "none"
    if not matches:
        raise CacheError(f"no cache with key {key_or_prefix!r} under {storage.url(cache_root)} (caches "
                         f"there: {known})")
    raise CacheError(f"key prefix {key_or_prefix!r} is ambiguous under {storage.url(cache_root)}: "
                     f"{', '.join(p.name for p in matches)}; give more characters")


def cache_info(cache_root: Path, key_or_prefix: str) -> CacheInfo:
    return describe_cache(find_cache(cache_root, key_or_prefix))


# ---------------------------------------------------------------- verifying caches


@dataclass
class VerifyReport:
    path: Path
    shards_checked: int
    errors: list[str]  # the cache is damaged: a reader would fail or read wrong data
    warnings: list[str]  # leftovers of an interrupted run: readers ignore them

    @property
    def ok(self) -> bool:
        return not self.errors


def verify_cache(path: Path) -> VerifyReport:
    """Check every manifest-listed shard (exists, readable, row count, schema version, sha256)
    and report files the manifest does not list (leftovers of an interrupted run)."""
    cache = load_cache(path)
    errors, warnings = [], []
    if cache_key(cache.settings) != cache.key:
        errors.append(f"{SETTINGS_NAME} hashes to {cache_key(cache.settings)}, not to the "
                      f"folder's key {cache.key} (edited by hand?)")
    done = cache.manifest.done()
    errors += [f"{video_id}: {problem}" for video_id, problem in damaged_videos(cache).items()]
    listed = {e["shard"] for e in done.values()}
    for file in storage.files_below(cache.path):
        if file.name.endswith(".tmp"):
            warnings.append(f"{file.relative_to(cache.path)}: temporary file left by an "
                            f"interrupted write (ignored by readers; safe to delete)")
        elif file.parent == cache.shards_dir and file.name not in listed:
            warnings.append(f"{file.relative_to(cache.path)}: not in the manifest (ignored "
                            f"by readers; the next precompute rewrites it)")
    return VerifyReport(cache.path, len(done), errors, warnings)


def damaged_videos(cache: Cache) -> dict[str, str]:
    """The done videos whose shard no longer matches its manifest entry, with the problem:
    precompute recomputes them, `cache verify` reports them. Reads every shard once."""
    problems = {vid: _shard_problem(cache.shards_dir / e["shard"], e)
                for vid, e in cache.manifest.done().items()}
    return {vid: problem for vid, problem in problems.items() if problem}


def _shard_problem(shard: Path, entry: dict) -> str | None:
    if not storage.is_file(shard):
        return f"shard {storage.url(shard)} is missing"
    try:
        with storage.open_input(shard) as f:
            metadata = pq.ParquetFile(f).metadata
    except Exception as error:  # any Arrow error means the same thing here: unreadable
        return f"shard {storage.url(shard)} is unreadable ({error})"
    shard = storage.url(shard)  # named as the user writes it from here on
    version = decode_file_metadata(metadata.metadata).get("schema_version")
    if version != SCHEMA_VERSION:
        return f"shard {shard} has schema version {version}, expected {SCHEMA_VERSION}"
    if metadata.num_rows != entry["clips"]:
        return f"shard {shard} has {metadata.num_rows} rows, the manifest says {entry['clips']}"
    if file_sha256(shard) != entry["sha256"]:
        return f"shard {shard} does not match its recorded sha256 (corrupted or replaced)"
    return None


def verify_caches(cache_root: Path, key_or_prefix: str | None = None) -> list[VerifyReport]:
    """Verify one cache (by key prefix) or every cache under `cache_root`."""
    paths = [find_cache(cache_root, key_or_prefix)] if key_or_prefix else find_caches(cache_root)
    return [verify_cache(p) for p in paths]
