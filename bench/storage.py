"""Verified shard reads from object storage (shards/storage.py) against the same cache on the
local disk: `open_shards` then every batch of every shard (sha256 against the manifest, page
checksums), and `verify_cache`, best of `--repeats`.

The cache is the demo-size one of bench/verified_reads.py (built with the real precompute) or
`--cache PATH`. It is copied to `--s3 s3://bucket/prefix` (credentials and endpoint as for
physllm), or by default to moto's S3 server started here on 127.0.0.1: a Python server on the
same cores, so its figure is a floor for the code path, not a figure for AWS.

    python bench/storage.py --cache physllm-demo/cache/synthetic/<key>
    python bench/storage.py --s3 s3://my-bucket/physllm-bench
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import uuid
from pathlib import Path

from physllm.shards import storage
from physllm.shards.cache import verify_cache
from physllm.shards.reader import open_shards


def local_moto_bucket() -> str:
    import fsspec
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    fsspec.config.conf["s3"] = {"endpoint_url": f"http://{host}:{port}"}
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("s3").mkdir(bucket)
    return f"s3://{bucket}"


def upload(cache: Path, prefix: str) -> Path:
    """The cache copied under `prefix/<dataset>/<key>` (the layout readers search)."""
    import fsspec

    target = f"{prefix.rstrip('/')}/{cache.parent.name}/{cache.name}"
    fsspec.filesystem("s3").put(f"{cache}/", target.removeprefix("s3://"), recursive=True)
    return Path(target)


def best_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def read_all(cache: Path) -> int:
    return sum(batch.num_rows for batch in open_shards(cache).iter_batches(batch_size=64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="an existing local cache folder (default: build one)")
    parser.add_argument("--s3", help="s3://bucket/prefix to copy it to (default: a local moto server)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        cache = args.cache
        if cache is None:
            from verified_reads import build_demo_size_cache

            cache = build_demo_size_cache(Path(work), subjects=20, seconds=30.0)
        remote = upload(cache, args.s3 or local_moto_bucket())
        megabytes = sum(storage.size(f) for f in storage.files_below(cache / "shards")) / 2**20
        for where, path in (("local", cache), (storage.url(remote), remote)):
            clips = read_all(path)
            read = best_seconds(lambda: read_all(path), args.repeats)
            verify = best_seconds(lambda: verify_cache(path), args.repeats)
            print(f"{where}: {clips} clips, {megabytes:.1f} MB: open + verified read {read * 1000:.0f} ms "
                  f"({megabytes / read:.0f} MB/s); cache verify {verify * 1000:.0f} ms")


if __name__ == "__main__":
    main()
