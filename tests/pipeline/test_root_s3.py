"""`physllm precompute --root s3://…`: the synthetic dataset uploaded to a real S3-compatible server
(tests/fixtures/s3_server.py), staged to local disk (pipeline/staging.py) and precomputed on Ray,
compared with the same precompute from the local folder; a second run, an interrupted copy, a
decoder whose node has no copy, and the URL's errors."""

import asyncio
import json
import shutil
from dataclasses import replace
from pathlib import Path

import fsspec
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from physllm.cli import app
from physllm.errors import DatasetError
from physllm.pipeline import job
from physllm.pipeline.job import run_precompute
from physllm.pipeline.staging import RemoteRoot, stage
from physllm.shards.cache import load_cache
from tests.pipeline.test_job_s3 import tables

TEXT_COLUMNS = ("dataset", "subject", "session", "video_id", "clip_index", "metadata", "description", "stats_text")


def upload(folder: Path, url: str) -> None:
    fs = fsspec.filesystem("s3")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        fs.put_file(str(path), f"{url.removeprefix('s3://')}/{path.relative_to(folder).as_posix()}")


@pytest.fixture(scope="module")
def dataset_url(s3_bucket, synthetic_root) -> str:
    url = f"{s3_bucket}/datasets/synthetic"
    upload(synthetic_root, url)
    return url


@pytest.fixture(scope="module")
def runs(local_precompute, dataset_url, tmp_path_factory):
    """The same precompute from the local folder and from its copy on S3 (staged to a temp folder)."""
    cfg, local = local_precompute
    remote = replace(cfg, root=Path(dataset_url), cache_root=tmp_path_factory.mktemp("cache"),
                     staging_root=tmp_path_factory.mktemp("staging"))
    return local, run_precompute(remote), remote


def assert_same_rows(got_cache: Path, want_cache: Path) -> None:
    got, want = tables(got_cache), tables(want_cache)
    assert sorted(got) == sorted(want) and len(want) == 4
    for name, table in want.items():
        for column in TEXT_COLUMNS:
            assert got[name].column(column).to_pylist() == table.column(column).to_pylist(), column
        for column in ("ppg", "backbone_wave", "feat_s1", "rgb_mean"):
            np.testing.assert_allclose(got[name].column(column).combine_chunks().to_numpy_ndarray(),
                                       table.column(column).combine_chunks().to_numpy_ndarray(),
                                       rtol=1e-4, atol=1e-5)


def test_precompute_from_an_s3_root_writes_the_rows_of_a_local_run(runs, dataset_url):
    local, remote, cfg = runs
    assert (remote.videos_done, remote.clips, remote.computed_videos) == (4, 12, 4)
    assert remote.key != local.key  # the cache is keyed by the URL ...
    assert_same_rows(remote.path, local.path)
    shard = next((remote.path / "shards").glob("*.parquet"))
    metadata = pq.read_schema(shard).metadata
    provenance, config = (json.loads(metadata[f"physllm.{name}".encode()]) for name in ("provenance", "config"))
    assert provenance["root"] == config["root"] == dataset_url  # ... and its shards say where the videos came from
    staged = RemoteRoot.of(dataset_url, cfg.staging_root).local
    assert staged.parent == cfg.staging_root and (staged / "subject1" / "vid.avi").is_file()


def test_a_second_run_fetches_nothing_and_computes_nothing(runs, dataset_url, monkeypatch):
    _, first, cfg = runs
    monkeypatch.setattr(job, "_run_ray_job", lambda *a, **k: pytest.fail("a cached run started the Ray job"))
    result = CliRunner().invoke(app, ["precompute", "--dataset", "synthetic", "--root", dataset_url,
                                      "--staging-root", str(cfg.staging_root), "--cache-root", str(cfg.cache_root),
                                      "--backbone", str(cfg.backbone), "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"staged {dataset_url} in" in output and "fetched 0 files (0.0 MB)" in output
    assert "9 already there" in output and "computed 0 videos" in output


def test_a_new_staging_folder_fetches_again_and_resumes_the_same_cache(runs, tmp_path, monkeypatch):
    """The cache follows the URL and its objects (sizes, times), not the staging folder."""
    _, first, cfg = runs
    monkeypatch.setattr(job, "_run_ray_job", lambda *a, **k: pytest.fail("a cached run started the Ray job"))
    again = run_precompute(replace(cfg, staging_root=tmp_path))
    assert (again.path, again.computed_videos, again.videos_done) == (first.path, 0, 4)


def test_an_interrupted_copy_keeps_its_whole_files_and_resumes(dataset_url, tmp_path, monkeypatch):
    import s3fs

    real_get_file = s3fs.S3FileSystem._get_file

    async def dropped_on_one_video(self, rpath, lpath, **kwargs):
        if rpath.endswith("subject3/vid.avi"):
            await asyncio.sleep(1.0)  # the others arrive first
            Path(lpath).write_bytes(b"the first bytes")
            raise ConnectionResetError("connection reset by peer")
        return await real_get_file(self, rpath, lpath, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_get_file", dropped_on_one_video)
    with pytest.raises(DatasetError, match="copying to .* stopped .*run the command again"):
        stage(dataset_url, tmp_path)
    root = RemoteRoot.of(dataset_url, tmp_path)
    kept = sorted(p.relative_to(root.local).as_posix() for p in root.local.rglob("*") if p.is_file())
    assert "subject3/vid.avi" not in kept and 1 <= len(kept) < 9
    assert not [name for name in kept if name.endswith(".part")]  # a partial download never counts
    (root.local / "stray.txt").write_text("not on S3")
    (root.local / "subject1" / ".vid.avi.99.part").write_bytes(b"a killed copy's leftover")

    monkeypatch.setattr(s3fs.S3FileSystem, "_get_file", real_get_file)
    resumed = stage(dataset_url, tmp_path)
    assert (resumed.report.fetched_files, resumed.report.skipped_files) == (9 - len(kept), len(kept))
    assert all(root.is_staged(file) for file in resumed.files)
    assert sorted(p.relative_to(root.local).as_posix() for p in root.local.rglob("*") if p.is_file()) == \
        [file.name for file in resumed.files]  # the strays are gone


def test_a_decoder_whose_node_has_no_copy_fetches_its_videos_files(runs, tmp_path, monkeypatch):
    """What a decoder on another node meets: the driver staged and scanned the dataset, but the
    video's files are not on the decoder's disk. It fetches them and the shard is the local run's."""
    local, remote, cfg = runs
    shutil.copytree(cfg.cache_root, tmp_path / "cache")
    cache = load_cache(tmp_path / "cache" / remote.path.relative_to(cfg.cache_root))
    (cache.shards_dir / cache.manifest.done()["synthetic/subject2/vid"]["shard"]).unlink()  # one video pending
    deleted = []
    real_run = job._run_ray_job

    def without_staged_copies(cfg, backbone, cache, pending, file_metadata, fetch):
        for record_files in fetch.values():
            for file in record_files.files:
                record_files.root.local_path(file).unlink()
                deleted.append(record_files.root.local_path(file))
        return real_run(cfg, backbone, cache, pending, file_metadata, fetch)

    monkeypatch.setattr(job, "_run_ray_job", without_staged_copies)
    again = run_precompute(replace(cfg, cache_root=tmp_path / "cache"))
    assert again.computed_videos == 1
    assert sorted(p.name for p in deleted) == ["ground_truth.txt", "vid.avi"]
    assert all(path.is_file() for path in deleted)  # fetched back by the decoder
    assert_same_rows(again.path, local.path)


@pytest.mark.parametrize("where, expected", [
    ("s3://physllm-no-such-bucket/data", "s3://physllm-no-such-bucket/data: no such bucket or folder"),
    ("{bucket}/nothing/here", "{bucket}/nothing/here: no files there (expected the dataset's root folder)"),
    ("{bucket}/not-a-dataset", "{bucket}/not-a-dataset"),
])
def test_a_bad_root_url_is_one_error_line(where, expected, s3_bucket, random_physnet, tmp_path):
    fsspec.filesystem("s3").pipe_file(f"{s3_bucket.removeprefix('s3://')}/not-a-dataset/notes.txt", b"no videos")
    root = where.format(bucket=s3_bucket)
    result = CliRunner().invoke(app, ["precompute", "--dataset", "synthetic", "--root", root,
                                      "--staging-root", str(tmp_path / "staging"),
                                      "--cache-root", str(tmp_path / "cache"), "--backbone", str(random_physnet)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert " ".join(result.output.split()).count(expected.format(bucket=s3_bucket)) >= 1
    assert str(tmp_path / "staging") not in result.output.split("error:")[1]  # the URL, not the copy


def test_an_unreachable_endpoint_is_one_error_line(s3_endpoint, random_physnet, tmp_path, monkeypatch):
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": "http://127.0.0.1:9",  # nothing listens
                                                   "config_kwargs": {"retries": {"max_attempts": 1}}})
    result = CliRunner().invoke(app, ["precompute", "--dataset", "synthetic", "--root", "s3://bucket/data",
                                      "--staging-root", str(tmp_path), "--cache-root", str(tmp_path / "cache"),
                                      "--backbone", str(random_physnet)])
    assert result.exit_code == 2, result.output
    assert "error: cannot reach s3://bucket/data (EndpointConnectionError" in " ".join(result.output.split())
    assert "Traceback" not in result.output
