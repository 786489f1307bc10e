import json

import pytest

from physllm.errors import CacheError
from physllm.shards import cache_info, cache_key, list_caches, open_cache, verify_cache
from physllm.shards.manifest import source_fingerprint


def test_cache_key_is_canonical_and_content_addressed():
    a = {"clip_frames": 128, "backbone": {"name": "physnet", "sha256": "x"}}
    b = {"backbone": {"sha256": "x", "name": "physnet"}, "clip_frames": 128}
    assert cache_key(a) == cache_key(b)
    assert len(cache_key(a)) == 16 and int(cache_key(a), 16) >= 0
    assert cache_key({**a, "clip_frames": 160}) != cache_key(a)


def test_open_cache_reuses_folder_and_keeps_settings(tmp_path, settings, filled_cache):
    again = open_cache(tmp_path / "cache", "synthetic", settings)
    assert again.path == filled_cache.path
    assert set(again.manifest.done()) == {"synthetic/subject1/s1", "synthetic/subject2/s1"}
    assert json.loads((again.path / "settings.json").read_text()) == settings
    sources = dict.fromkeys(["synthetic/subject1/s1", "synthetic/subject3/s1", "new/a/b"])
    assert again.manifest.pending(sources) == ["synthetic/subject3/s1", "new/a/b"]  # failed: retried
    changed = {**sources, "synthetic/subject1/s1": "re-rendered"}  # same id, another source file
    assert again.manifest.pending(changed) == list(changed)


def test_settings_that_differ_from_the_folder_are_refused(tmp_path, settings, filled_cache):
    stored = dict(settings, describer="llava")
    (filled_cache.path / "settings.json").write_text(json.dumps(stored))
    with pytest.raises(CacheError, match=r"differing: describer"):
        open_cache(tmp_path / "cache", "synthetic", settings)


def test_list_and_info(tmp_path, filled_cache):
    [info] = list_caches(tmp_path / "cache")
    assert (info.dataset, info.key) == ("synthetic", filled_cache.key)
    assert (info.videos_done, info.videos_failed, info.clips) == (2, 1, 5)
    assert info.size_bytes > 0 and info.backbone == "physnet-ubfc" and info.describer == "fast"
    assert cache_info(tmp_path / "cache", filled_cache.key[:4]).failures == {
        "synthetic/subject3/s1": "video shorter than one clip"}
    with pytest.raises(CacheError, match="no cache with key 'zzz'"):
        cache_info(tmp_path / "cache", "zzz")
    with pytest.raises(CacheError, match="no such cache root"):
        list_caches(tmp_path / "missing")


def test_verify_good_cache(filled_cache):
    report = verify_cache(filled_cache.path)
    assert report.ok and report.shards_checked == 2 and report.warnings == []


def test_verify_catches_corruption_and_missing_shards(filled_cache):
    shards = sorted(filled_cache.shards_dir.glob("*.parquet"))
    data = bytearray(shards[0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the column data: footer still parses
    shards[0].write_bytes(bytes(data))
    shards[1].unlink()
    report = verify_cache(filled_cache.path)
    assert not report.ok
    assert any("sha256" in e for e in report.errors)
    assert any("missing" in e for e in report.errors)


def test_verify_catches_truncated_shard_and_edited_settings(filled_cache):
    shard = sorted(filled_cache.shards_dir.glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:100])
    (filled_cache.path / "settings.json").write_text(json.dumps({"other": 1}))
    errors = verify_cache(filled_cache.path).errors
    assert any("unreadable" in e for e in errors)
    assert any("edited by hand" in e for e in errors)


def test_verify_reports_leftovers_as_warnings(filled_cache):
    (filled_cache.shards_dir / ".x.parquet.123.tmp").write_bytes(b"half")
    (filled_cache.shards_dir / "orphan.parquet").write_bytes(b"not listed")
    report = verify_cache(filled_cache.path)
    assert report.ok
    assert len(report.warnings) == 2
    assert any("temporary" in w for w in report.warnings)
    assert any("orphan.parquet: not in the manifest" in w for w in report.warnings)


def test_source_fingerprint_changes_when_a_video_is_rewritten(tmp_path):
    video = tmp_path / "vid.avi"
    video.write_bytes(b"first render")
    before = source_fingerprint(video)
    assert source_fingerprint(video) == before
    video.write_bytes(b"second render, longer")
    assert source_fingerprint(video) != before
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "Image1.png").write_bytes(b"x")
    folder_before = source_fingerprint(frames)
    (frames / "Image2.png").write_bytes(b"y")
    assert source_fingerprint(frames) != folder_before
