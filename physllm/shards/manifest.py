"""The manifest of a cache: which videos are done (and in which shard) and which failed.

A shard counts as written only once the manifest lists it. The writer puts a complete shard
in place first and records it here second, and the manifest itself is replaced atomically
(storage.write_atomic: temp file, fsync, os.replace on a local disk; one PUT on object
storage). So a crash at any instant leaves either the old manifest or the new one, and a shard
a reader can see through the manifest is always whole (docs/ARCHITECTURE.md, "shards/").

One process writes a cache's manifest (the precompute driver); it is not a lock.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from physllm.errors import CacheError
from physllm.shards import storage

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part."""
    storage.write_atomic(path, text.encode("utf-8"))


@dataclass
class Manifest:
    """Per video_id: {"status": "done", "shard", "clips", "sha256", "subject", "session",
    "metadata"} or {"status": "failed", "reason"}.

    A failed video is retried by the next run (`pending` includes it): failures such as a
    file still being copied or a worker running out of memory are often transient, and a
    video that is truly broken fails again quickly with the same reason.
    """

    path: Path
    videos: dict[str, dict] = field(default_factory=dict)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        """Read a manifest; a missing file is a new, empty manifest."""
        path = Path(path)
        if not storage.exists(path):
            return cls(path)
        try:
            data = json.loads(storage.read_text(path))
            return cls(path, dict(data["videos"]), data["created"])
        except (ValueError, KeyError, TypeError) as error:
            raise CacheError(f"{storage.url(path)}: not a physllm manifest ({error}); expected JSON with "
                             f"'videos' and 'created'. Delete the cache folder and re-run "
                             f"precompute.") from None

    def save(self) -> None:
        data = {"format": MANIFEST_FORMAT, "created": self.created, "videos": self.videos}
        atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))

    def mark_done(self, video_id: str, shard: str, clips: int, sha256: str, subject: str,
                  session: str, metadata: dict, source: str | None = None) -> dict:
        self.videos[video_id] = {"status": "done", "shard": shard, "clips": int(clips),
                                 "sha256": sha256, "subject": subject, "session": session,
                                 "metadata": metadata, "source": source}
        self.save()
        return self.videos[video_id]

    def mark_failed(self, video_id: str, reason: str) -> None:
        self.videos[video_id] = {"status": "failed", "reason": str(reason)}
        self.save()

    def done(self) -> dict[str, dict]:
        return {vid: e for vid, e in self.videos.items() if e["status"] == "done"}

    def failed(self) -> dict[str, dict]:
        return {vid: e for vid, e in self.videos.items() if e["status"] == "failed"}

    def pending(self, sources: Mapping[str, str | None]) -> list[str]:
        """The videos still to compute, in the order given: all but those done from the same
        source (`source_fingerprint`): a video replaced since its shard was written is stale."""
        done = self.done()
        return [vid for vid, source in sources.items()
                if vid not in done or done[vid].get("source") != source]


def source_fingerprint(path: Path) -> str:
    """Size and modification time of a video file (count and mtime of a frame folder): cheap,
    and changed by any re-render, re-copy or edit of the source."""
    path = Path(path)
    stat = path.stat()
    size = sum(1 for _ in path.iterdir()) if path.is_dir() else stat.st_size
    return f"{size}-{stat.st_mtime_ns}"
