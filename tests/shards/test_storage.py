"""shards/storage.py against a real S3-compatible server (tests/fixtures/s3_server.py) and a local
folder: the same operations, whole writes, no temp objects, and the URL spellings."""

from pathlib import Path

import pytest

from physllm.errors import CacheError
from physllm.shards import storage
from physllm.shards.cache import open_cache, verify_cache
from physllm.shards.reader import open_shards
from physllm.shards.writer import write_video_shard


def test_a_url_keeps_its_meaning_through_pathlib_and_a_local_path_stays_local():
    assert storage.url(Path("s3://bucket/prefix")) == "s3://bucket/prefix"
    assert storage.is_remote(Path("s3://bucket/prefix")) and storage.is_remote("gs://b")
    assert not storage.is_remote("C:/data") and not storage.is_remote(Path("rel/cache"))
    assert storage.url("rel/cache") == "rel/cache"


def test_an_unknown_protocol_is_one_clear_error():
    with pytest.raises(CacheError, match="cannot open nosuchproto://b/x"):
        storage.exists("nosuchproto://b/x")


@pytest.mark.parametrize("where", ["local", "s3"])
def test_the_same_operations_on_a_folder_and_on_a_bucket(where, tmp_path, request):
    root = tmp_path if where == "local" else Path(request.getfixturevalue("s3_bucket") + "/" + tmp_path.name)
    file = root / "a" / "b.bin"
    storage.make_dirs(file.parent)
    storage.write_atomic(file, b"first")
    storage.write_atomic(file, b"second, longer")  # replaced whole
    assert storage.read_bytes(file) == b"second, longer" and storage.size(file) == 14
    assert storage.is_file(file) and storage.is_dir(root / "a") and not storage.is_file(root / "a")
    with storage.open_input(file) as f:
        f.seek(8)
        assert f.read() == b"longer"
    assert storage.files_below(root) == [file]  # no temp file or object left behind
    assert storage.find_named(root, "b.bin") == [file] and storage.find_named(root, "c.bin") == []
    storage.remove(file)
    assert not storage.exists(file)


def test_a_cache_on_s3_is_written_read_and_verified_as_a_local_one(s3_bucket, settings, make_rows,
                                                                  file_metadata, tmp_path):
    caches = {}
    for where, root in (("local", tmp_path), ("s3", Path(s3_bucket + "/cache"))):
        cache = open_cache(root, "synthetic", settings)
        write_video_shard(cache, "synthetic/subject1/s1", make_rows("synthetic/subject1/s1", 3), file_metadata)
        caches[where] = cache
    local, remote = caches["local"], caches["s3"]
    assert storage.url(remote.path).startswith(f"{s3_bucket}/cache/synthetic/")
    assert remote.manifest.done() == local.manifest.done()  # same shard bytes, same sha256
    shards = open_shards(Path(s3_bucket + "/cache"))
    assert shards.read_video("synthetic/subject1/s1").equals(
        open_shards(tmp_path).read_video("synthetic/subject1/s1"))
    assert verify_cache(remote.path).ok and not verify_cache(remote.path).warnings


def test_a_shard_put_whose_manifest_entry_was_never_written_is_invisible_to_readers(
        s3_bucket, settings, make_rows, file_metadata):
    """A driver killed between the shard's PUT and the manifest's: the object is a leftover."""
    cache = open_cache(Path(s3_bucket + "/orphan"), "synthetic", settings)
    write_video_shard(cache, "synthetic/subject1/s1", make_rows("synthetic/subject1/s1", 3), file_metadata)
    storage.write_atomic(cache.shard_path("synthetic/subject2/s1"),
                         storage.read_bytes(cache.shard_path("synthetic/subject1/s1")))
    assert [v.video_id for v in open_shards(cache.path).videos()] == ["synthetic/subject1/s1"]
    report = verify_cache(cache.path)
    assert report.ok and report.warnings == [
        f"shards/{cache.shard_path('synthetic/subject2/s1').name}: not in the manifest (ignored by "
        f"readers; the next precompute rewrites it)"]


def test_an_unreachable_server_is_one_clear_error_naming_the_url(s3_endpoint, monkeypatch):
    import fsspec

    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": "http://127.0.0.1:9",  # nothing listens
                                                   "config_kwargs": {"retries": {"max_attempts": 1}}})
    with pytest.raises(CacheError, match=r"cannot reach s3://bucket/x \(EndpointConnectionError"):
        storage.is_dir(Path("s3://bucket/x"))
