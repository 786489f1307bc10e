"""A dataset root on object storage (`--root s3://bucket/prefix`), copied to local disk for the readers.

The dataset readers open local files (OpenCV, h5py, scipy, zipfile), so rather than teach each
of them fsspec, the driver mirrors the URL into a staging folder and scans that:
`<staging root>/<the URL's last part>-<12 hex of the URL's sha256>/`, the same absolute path on
every node. What the copy guarantees:

- Skipped when already there: a staged file has its object's size and modification time (set on
  the copy; S3's LastModified changes with every PUT), so a second run lists the URL, compares,
  and fetches nothing. Where a filesystem gives no time, the size alone decides.
- Whole or absent: a file is fetched to `.<name>.<pid>.part` beside its place and renamed there
  once it has its object's size, so a partial download never counts as staged; an interrupted
  copy keeps the whole files and fetches the rest on the next run.
- A mirror: files the URL no longer has (and `.part` leftovers) are removed from the staging
  folder, so the reader sees the URL's tree; a folder's time is set to its newest object's.
  The cache fingerprints a video by its size (a frame folder's count) and time
  (shards/manifest.py), so a staging folder deleted and fetched again computes nothing again.
- Other nodes: a decoder calls `RecordFiles.fetch_missing` first, which fetches the files its
  video reads (VideoRecord.source_paths) into the same place on its own node when they are not
  there; on the driver's node that is one stat per file.

The cache is keyed by the URL (job.cue_settings), never by the staging folder. Errors on the URL
(no such bucket or prefix, no files, refused access, an unreachable endpoint) are one clear
error; a copy that stops midway says to run again.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from physllm.data_catalog.record import VideoRecord
from physllm.errors import DatasetError
from physllm.progress import console, make_progress
from physllm.shards import storage
from physllm.shards.storage import StoredFile

FETCH_BATCH = 64  # files fetched at once (fsspec runs a batch's requests concurrently); progress moves per batch


def default_staging_root() -> Path:
    return Path(os.environ.get("PHYSLLM_STAGING", "physllm-staging"))


@dataclass(frozen=True)
class RemoteRoot:
    """A dataset's URL and its copy's folder; pickled to the decoders with the driver's fsspec
    settings for the URL (the endpoint), so that every node reaches the same server."""

    url: str
    local: Path
    options: dict

    @classmethod
    def of(cls, url: str | Path, staging_root: Path) -> "RemoteRoot":
        url = storage.url(url).rstrip("/")
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        return cls(url, Path(staging_root).resolve() / f"{url.rsplit('/', 1)[-1]}-{digest}", storage.settings(url))

    def local_path(self, file: StoredFile) -> Path:
        return self.local / file.name

    def is_staged(self, file: StoredFile) -> bool:
        try:
            stat = self.local_path(file).stat()
        except FileNotFoundError:
            return False
        return stat.st_size == file.size and (file.modified is None or stat.st_mtime_ns == _ns(file.modified))

    def fetch(self, files: list[StoredFile], advance: Callable[[list[StoredFile]], None] = lambda batch: None) -> None:
        """Fetch `files`, FETCH_BATCH at a time; each is put in place whole or not at all."""
        for start in range(0, len(files), FETCH_BATCH):
            batch = files[start:start + FETCH_BATCH]
            parts = [_part_path(self.local_path(file)) for file in batch]
            for part in parts:
                part.parent.mkdir(parents=True, exist_ok=True)
            try:
                storage.download(self.url, [file.name for file in batch], parts, self.options)
            except OSError as error:
                raise DatasetError(f"{self.url}: copying to {self.local} stopped ({error}); the files "
                                   f"copied whole are kept, run the command again to fetch the rest") from None
            finally:  # also on an interruption: what arrived whole is kept
                for file, part in zip(batch, parts):
                    self._settle(file, part)
            advance(batch)

    def _settle(self, file: StoredFile, part: Path) -> None:
        """Put a fetched file in place if it is whole (its object's size), with the object's time."""
        if part.is_file() and part.stat().st_size == file.size:
            if file.modified is not None:
                os.utime(part, ns=(_ns(file.modified), _ns(file.modified)))
            os.replace(part, self.local_path(file))
        else:
            part.unlink(missing_ok=True)


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def _part_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")


@dataclass(frozen=True)
class RecordFiles:
    """The files one video reads, for its decoder to fetch on a node that has no copy of them."""

    root: RemoteRoot
    files: tuple[StoredFile, ...]

    def fetch_missing(self) -> int:
        """Fetch the files not staged on this node; returns how many."""
        missing = [file for file in self.files if not self.root.is_staged(file)]
        self.root.fetch(missing)
        return len(missing)


@dataclass(frozen=True)
class StageReport:
    fetched_files: int
    fetched_bytes: int
    skipped_files: int  # already staged
    skipped_bytes: int
    seconds: float

    def line(self, root: RemoteRoot) -> str:
        return (f"staged {root.url} in {root.local}: fetched {self.fetched_files} files "
                f"({self.fetched_bytes / 1e6:.1f} MB) in {self.seconds:.1f} s, {self.skipped_files} "
                f"already there ({self.skipped_bytes / 1e6:.1f} MB)")


@dataclass(frozen=True)
class StagedRoot:
    """A URL mirrored to this node: the listing it was mirrored from and what the copy cost."""

    root: RemoteRoot
    files: list[StoredFile]  # sorted by name
    report: StageReport

    def record_files(self, record: VideoRecord) -> RecordFiles:
        """The staged files `record` reads: each of its source paths' file, or the files below its folder."""
        names = [file.name for file in self.files]
        wanted: dict[str, StoredFile] = {}
        for path in record.source_paths():
            if not path.is_relative_to(self.root.local) or path == self.root.local:
                continue
            name = path.relative_to(self.root.local).as_posix()
            # the names that start with `name` are contiguous once sorted: the file, its folder's files
            for index in range(bisect.bisect_left(names, name), len(names)):
                if not names[index].startswith(name):
                    break
                if names[index] == name or names[index].startswith(f"{name}/"):
                    wanted[names[index]] = self.files[index]
        return RecordFiles(self.root, tuple(wanted.values()))

    def local_error(self, error: DatasetError) -> DatasetError:
        """A reader's error about the staged copy, naming the URL instead."""
        return DatasetError(str(error).replace(str(self.root.local), self.root.url))


def stage(url: str | Path, staging_root: Path) -> StagedRoot:
    """Mirror `url` into its staging folder (see the module doc), with a progress bar and one
    line saying what was fetched and what was already there."""
    started = time.time()
    root = RemoteRoot.of(url, staging_root)
    files = _listing(root)
    missing = [file for file in files if not root.is_staged(file)]
    _remove_strays(root.local, {file.name for file in files})
    if missing:
        _fetch_with_progress(root, missing)
    _set_folder_times(root, files)
    fetched = sum(file.size for file in missing)
    report = StageReport(len(missing), fetched, len(files) - len(missing),
                         sum(file.size for file in files) - fetched, time.time() - started)
    console.print(report.line(root), highlight=False, soft_wrap=True)
    return StagedRoot(root, files, report)


def _listing(root: RemoteRoot) -> list[StoredFile]:
    try:
        files = storage.list_files(root.url, root.options)
    except FileNotFoundError:
        raise DatasetError(f"{root.url}: no such bucket or folder") from None
    except PermissionError as error:
        raise DatasetError(f"{root.url}: access refused ({error}); check the credentials "
                           f"(AWS_* or ~/.aws for s3://)") from None
    except OSError as error:
        raise DatasetError(f"{root.url}: cannot list it ({error})") from None
    if not files:
        raise DatasetError(f"{root.url}: no files there (expected the dataset's root folder)")
    return files


def _remove_strays(local: Path, names: set[str]) -> None:
    """Remove the files of the staging folder the URL does not have (`.part` leftovers included)."""
    for path in local.rglob("*") if local.is_dir() else ():
        if path.is_file() and path.relative_to(local).as_posix() not in names:
            path.unlink()


def _fetch_with_progress(root: RemoteRoot, missing: list[StoredFile]) -> None:
    from rich.progress import TextColumn

    total_mb, started = sum(file.size for file in missing) / 1e6, time.time()
    with make_progress(TextColumn("{task.fields[mb]}")) as progress:
        task = progress.add_task("staging", total=len(missing), mb="")
        done = 0

        def advance(batch: list[StoredFile]) -> None:
            nonlocal done
            done += sum(file.size for file in batch)
            rate = done / 1e6 / max(time.time() - started, 1e-6)
            progress.update(task, advance=len(batch), mb=f"{done / 1e6:.1f}/{total_mb:.1f} MB, {rate:.1f} MB/s")

        root.fetch(missing, advance)


def _set_folder_times(root: RemoteRoot, files: list[StoredFile]) -> None:
    """Each staged folder takes its newest file's time (see the module doc: fingerprints)."""
    newest: dict[Path, float] = {}
    for file in files:
        if file.modified is not None:
            folder = root.local_path(file).parent
            newest[folder] = max(newest.get(folder, file.modified), file.modified)
    for folder, modified in newest.items():
        os.utime(folder, ns=(_ns(modified), _ns(modified)))
