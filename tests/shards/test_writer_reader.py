import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import physllm
from physllm.errors import CacheError
from physllm.shards import (Manifest, open_cache, open_shards, to_numpy, verify_cache,
                            write_video_shard)
from physllm.shards import writer
from physllm.shards.cache import file_sha256
from physllm.shards.schema import SCHEMA_VERSION


def test_round_trip_arrays_and_metadata(tmp_path, filled_cache, make_rows, file_metadata):
    shards = open_shards([tmp_path])  # a folder of caches, searched recursively
    [cache] = shards.caches
    assert cache.settings == filled_cache.settings
    assert cache.dataset_description == "Rendered faces with a known pulse."
    assert cache.file_metadata["provenance"] == file_metadata["provenance"]
    assert cache.file_metadata["schema_version"] == SCHEMA_VERSION
    assert cache.file_metadata["version"] == physllm.__version__
    assert shards.clip_frames == 16 and shards.feature_shapes[3] == (64, 2)

    video = shards.video("synthetic/subject1/s1")
    assert (video.subject, video.session, video.clips) == ("subject1", "s1", 3)
    assert video.metadata == {"skin_tone": 3, "light": "steady"}

    rows = make_rows("synthetic/subject1/s1", 3)
    table = shards.read_video("synthetic/subject1/s1")
    for column in ("ppg", "backbone_wave", "feat_s1", "feat_s4", "rgb_mean", "stats_lags"):
        np.testing.assert_array_equal(to_numpy(table[column]), np.stack([r[column] for r in rows]))
    assert table["description"].to_pylist() == [r["description"] for r in rows]
    assert table["hr"].to_pylist() == [None, 61.0, 62.0]


def test_iter_batches_streams_selected_videos_and_columns(filled_cache):
    shards = open_shards([filled_cache.path])
    batches = list(shards.iter_batches(columns=["video_id", "feat_s1"], batch_size=2))
    assert [b.num_rows for b in batches] == [2, 1, 2]  # a batch never spans two shards
    assert batches[0].schema.names == ["video_id", "feat_s1"]
    assert to_numpy(batches[0].column("feat_s1")).shape == (2, 64, 16)
    only = list(shards.iter_batches(video_ids=["synthetic/subject2/s1"]))
    assert sum(b.num_rows for b in only) == 2
    with pytest.raises(CacheError, match="no column"):
        list(shards.iter_batches(columns=["nope"]))
    with pytest.raises(CacheError, match="not among the finished videos"):
        shards.read_video("synthetic/subject3/s1")  # failed: no shard


def test_a_crash_at_either_rename_leaves_only_whole_listed_shards(filled_cache, make_rows,
                                                                 file_metadata, monkeypatch):
    real_replace = os.replace

    def crash_on(name):
        def replace(src, dst):
            if Path(dst).name.endswith(name):
                raise KeyboardInterrupt(f"killed while renaming to {dst}")
            real_replace(src, dst)
        return replace

    # 1: killed before the shard's rename (a temp file is left) ...
    monkeypatch.setattr(os, "replace", crash_on(".parquet"))
    with pytest.raises(KeyboardInterrupt):
        write_video_shard(filled_cache, "synthetic/subject4/s1",
                          make_rows("synthetic/subject4/s1", 2), file_metadata)
    # 2: ... and after another shard's rename, before its manifest entry (a whole, unlisted shard)
    monkeypatch.setattr(os, "replace", crash_on("manifest.json"))
    with pytest.raises(KeyboardInterrupt):
        write_video_shard(filled_cache, "synthetic/subject5/s1",
                          make_rows("synthetic/subject5/s1", 2), file_metadata)
    monkeypatch.undo()

    shards = open_shards([filled_cache.path])
    assert sorted(v.video_id for v in shards.videos()) == ["synthetic/subject1/s1",
                                                            "synthetic/subject2/s1"]
    report = verify_cache(filled_cache.path)
    assert report.ok and len(report.warnings) == 3  # shard temp, manifest temp, unlisted shard
    on_disk = Manifest.load(filled_cache.manifest.path)
    assert on_disk.pending(dict.fromkeys(["synthetic/subject4/s1", "synthetic/subject5/s1"])) == [
        "synthetic/subject4/s1", "synthetic/subject5/s1"]


def test_another_schema_version_is_refused(tmp_path, settings, make_rows, file_metadata,
                                           monkeypatch):
    monkeypatch.setattr(writer, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    cache = open_cache(tmp_path, "synthetic", settings)
    write_video_shard(cache, "synthetic/a/b", make_rows("synthetic/a/b", 1), file_metadata)
    with pytest.raises(CacheError, match=rf"version {SCHEMA_VERSION + 1}.*reads version "
                                         rf"{SCHEMA_VERSION}.*re-run `physllm precompute`"):
        open_shards([cache.path])


def test_caches_with_other_clip_length_are_refused_together(tmp_path, settings, make_rows,
                                                            file_metadata):
    short = open_cache(tmp_path, "synthetic", settings)
    long = open_cache(tmp_path, "synthetic", dict(settings, clip_frames=32))
    write_video_shard(short, "synthetic/a/b", make_rows("synthetic/a/b", 1), file_metadata)
    write_video_shard(long, "synthetic/c/d", make_rows("synthetic/c/d", 1, t=32), file_metadata)
    with pytest.raises(CacheError, match="16 frames|32 frames"):
        open_shards([short.path, long.path])


def test_a_video_in_two_caches_is_refused(tmp_path, settings, make_rows, file_metadata):
    for s in (settings, dict(settings, describer="llava")):
        cache = open_cache(tmp_path, "synthetic", s)
        write_video_shard(cache, "synthetic/a/b", make_rows("synthetic/a/b", 1), file_metadata)
    with pytest.raises(CacheError, match="in two caches"):
        open_shards([tmp_path])


def test_paths_without_a_cache_are_refused(tmp_path):
    with pytest.raises(CacheError, match="no physllm cache here"):
        open_shards([tmp_path])
    with pytest.raises(CacheError, match="no such folder"):
        open_shards([tmp_path / "missing"])


def test_writer_refuses_rows_of_another_video(filled_cache, make_rows, file_metadata):
    with pytest.raises(ValueError, match="passed as the shard of"):
        write_video_shard(filled_cache, "synthetic/x/y", make_rows("synthetic/a/b", 1),
                          file_metadata)


def flip_byte_in_column(shard: Path, column: str) -> None:
    """Flip one byte in the middle of `column`'s pages in the first row group."""
    chunk = pq.ParquetFile(shard).metadata.row_group(0).column(
        pq.read_schema(shard).get_field_index(column))
    offset = (chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size // 2
    data = bytearray(shard.read_bytes())
    data[offset] ^= 0xFF
    shard.write_bytes(bytes(data))


def test_a_damaged_shard_is_refused_naming_it_and_the_verify_advice(filled_cache):
    shards = open_shards([filled_cache.path])  # opening reads footers only: still whole
    damaged = shards.video("synthetic/subject1/s1").shard
    flip_byte_in_column(damaged, "feat_s1")
    for read in (lambda: list(shards.iter_batches()),
                 lambda: shards.read_video("synthetic/subject1/s1")):
        with pytest.raises(CacheError) as error:
            read()
        assert str(damaged) in str(error.value)
        assert "sha256" in str(error.value) and "physllm cache verify" in str(error.value)
    assert shards.read_video("synthetic/subject2/s1").num_rows == 2  # the others still read


def test_page_checksums_are_written_and_checked_on_every_read(filled_cache):
    """A flip the manifest's sha256 cannot see (recorded after the damage) is still refused."""
    damaged = filled_cache.shards_dir / filled_cache.manifest.done()["synthetic/subject1/s1"]["shard"]
    flip_byte_in_column(damaged, "backbone_wave")
    entry = filled_cache.manifest.done()["synthetic/subject1/s1"]
    entry["sha256"] = file_sha256(damaged)
    filled_cache.manifest.save()
    with pytest.raises(CacheError, match="CRC|checksum") as error:
        list(open_shards([filled_cache.path]).iter_batches(columns=["backbone_wave"]))
    assert str(damaged) in str(error.value)
