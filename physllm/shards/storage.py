"""Where a cache lives: a local folder, or a URL `<protocol>://…` (`s3://bucket/prefix`) opened with
fsspec (https://filesystem-spec.readthedocs.io/), and the few operations the cache needs on either.

Configs hold paths as `pathlib.Path`, which folds a URL's `//` (`Path("s3://b/p")` is `s3:/b/p`),
so both spellings name the same URL here. A URL's filesystem takes its options from fsspec's
configuration, e.g. `FSSPEC_S3_ENDPOINT_URL` for an S3-compatible server, and s3fs takes its
credentials where boto does (`AWS_ACCESS_KEY_ID`, `~/.aws`, an instance role).

`write_atomic` is the one write: a reader sees the old file or the new one, never a part.
- A local file is written to a temp file in the same folder, fsynced, renamed over the target
  (os.replace) and the folder fsynced.
- Object storage has no rename. An object is written with one request (s3fs `pipe_file`: one PUT
  below 100 MB, above it a multipart upload whose object appears only once the upload completes;
  a process killed during one leaves invisible parts, which a bucket's
  AbortIncompleteMultipartUpload lifecycle rule removes). S3 makes
  an object visible only once that request has finished, whole, and reads after a finished write
  see it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel):
  an object is there whole or not at all, and no temp object is ever left behind. The manifest is
  written only after the shard's write has returned, so it stays the commit point.

A dataset root may be a URL too: `list_files` and `download` are what pipeline/staging.py needs
to copy one to local disk, with the settings a driver hands to the processes on other nodes
(`settings`).
"""

from __future__ import annotations

import functools
import os
import re
from datetime import datetime
from pathlib import Path
from typing import IO, NamedTuple

from physllm.errors import CacheError

# `s3://b/p` or, from a Path, `s3:/b/p`; two letters at least, so that `C:/` stays a local path
URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+(.*)$")


def _remote(path: str | Path, options: dict | None = None):
    """(fsspec filesystem, path inside it) for a URL, (None, path) for a local path. `options`
    are fsspec's settings for the protocol (`settings`), over this process's own."""
    match = URL.match(str(path))
    if not match:
        return None, str(path)
    protocol, inner = match.groups()
    import fsspec

    try:
        fs = fsspec.filesystem(protocol, **(options or {}))
    except (ImportError, ValueError) as error:
        raise CacheError(f"cannot open {url(path)} ({error}); for s3:// install the s3 extra: "
                         f"pip install 'physllm[s3]'") from None
    fs.invalidate_cache()  # another process may have written since: list and stat afresh
    return fs, inner.rstrip("/")


def _guarded(path: str | Path, operation, *args):
    """`operation(*args)` on a remote filesystem; an error that is not the file's own (OSError:
    missing, forbidden) but the connection's or the credentials' becomes one clear CacheError."""
    try:
        return operation(*args)
    except OSError:
        raise
    except Exception as error:  # noqa: BLE001 -- botocore's, aiohttp's, gcsfs'...: no common base
        raise CacheError(f"cannot reach {url(path)} ({type(error).__name__}: {error}); check the "
                         f"credentials (AWS_* or ~/.aws for s3://) and the endpoint "
                         f"(FSSPEC_S3_ENDPOINT_URL for an S3-compatible server)") from None


def is_remote(path: str | Path) -> bool:
    return URL.match(str(path)) is not None


def url(path: str | Path) -> str:
    """The path as a user writes it: `s3://b/p` for a URL, unchanged for a local path."""
    match = URL.match(str(path))
    return f"{match.group(1)}://{match.group(2)}" if match else str(path)


def _as_path(path: str | Path, fs, inner: str) -> Path:
    """A path found inside `fs`, spelled as the caller's paths are."""
    return Path(f"{URL.match(str(path)).group(1)}://{inner}") if fs else Path(inner)


def exists(path: str | Path) -> bool:
    fs, inner = _remote(path)
    return _guarded(path, fs.exists, inner) if fs else os.path.exists(inner)


def is_file(path: str | Path) -> bool:
    fs, inner = _remote(path)
    return _guarded(path, fs.isfile, inner) if fs else os.path.isfile(inner)


def is_dir(path: str | Path) -> bool:
    """A local folder; on object storage, a prefix holding at least one object (or a bucket)."""
    fs, inner = _remote(path)
    return _guarded(path, fs.isdir, inner) if fs else os.path.isdir(inner)


def size(path: str | Path) -> int:
    fs, inner = _remote(path)
    return _guarded(path, fs.size, inner) if fs else os.path.getsize(inner)


def open_input(path: str | Path) -> IO[bytes]:
    """The file for reading, seekable (Parquet reads a footer first, then what it needs)."""
    fs, inner = _remote(path)
    return _guarded(path, fs.open, inner, "rb") if fs else open(inner, "rb")


def read_bytes(path: str | Path) -> bytes:
    fs, inner = _remote(path)
    return _guarded(path, fs.cat_file, inner) if fs else Path(inner).read_bytes()


def read_text(path: str | Path) -> str:
    return read_bytes(path).decode("utf-8")


def make_dirs(path: str | Path) -> None:
    """Create a local folder and its parents; object storage has no folders to create."""
    fs, inner = _remote(path)
    if not fs:
        Path(inner).mkdir(parents=True, exist_ok=True)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (see the module doc for how, on each kind)."""
    fs, inner = _remote(path)
    if fs:
        _guarded(path, fs.pipe_file, inner, data)
        return
    path = Path(inner)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (POSIX: the directory entry lives in the directory)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: str | Path) -> None:
    fs, inner = _remote(path)
    if fs:
        _guarded(path, fs.rm_file, inner)
    else:
        os.remove(inner)


def files_below(path: str | Path) -> list[Path]:
    """Every file below `path`, recursively, sorted."""
    fs, inner = _remote(path)
    if fs:
        return sorted(_as_path(path, fs, found) for found in _guarded(path, fs.find, inner))
    return sorted(p for p in Path(inner).rglob("*") if p.is_file())


def find_named(path: str | Path, name: str) -> list[Path]:
    """Every file called `name` below `path`, recursively, sorted."""
    fs, inner = _remote(path)
    if fs:
        return sorted(_as_path(path, fs, found) for found in _guarded(path, fs.find, inner)
                      if found.rsplit("/", 1)[-1] == name)
    return sorted(Path(inner).rglob(name))


class StoredFile(NamedTuple):
    """A file below a URL: its path from there ('/'-separated), its size, and when it was last
    written (seconds since the epoch; None where the filesystem does not say)."""

    name: str
    size: int
    modified: float | None


def settings(path: str | Path) -> dict:
    """fsspec's settings for a URL's protocol in this process (from `FSSPEC_<PROTOCOL>_*`, e.g.
    the S3 endpoint), so that a process on another node opens the URL the same way."""
    import fsspec

    return dict(fsspec.config.conf.get(URL.match(str(path)).group(1), {}))


def list_files(path: str | Path, options: dict | None = None) -> list[StoredFile]:
    """Every file below a URL, recursively, sorted by name."""
    fs, inner = _remote(path, options)
    found = _guarded(path, functools.partial(fs.find, inner, detail=True))
    return sorted(StoredFile(name.removeprefix(f"{inner}/"), int(info["size"]), _modified(info))
                  for name, info in found.items() if name.startswith(f"{inner}/"))


def _modified(info: dict) -> float | None:
    """An entry's last write: s3fs says `LastModified` (a datetime), local and sftp `mtime`."""
    value = info.get("LastModified", info.get("mtime"))
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if isinstance(value, (int, float)) else None


def download(path: str | Path, names: list[str], targets: list[Path], options: dict | None = None) -> None:
    """The files `names` below a URL, to the local `targets`, fetched concurrently (fsspec's
    `get` runs its batch at once)."""
    fs, inner = _remote(path, options)
    _guarded(path, fs.get, [f"{inner}/{name}" for name in names], [str(t) for t in targets])
