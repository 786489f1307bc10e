"""`physllm precompute / train / cache` on object storage: the synthetic dataset precomputed to a
real S3-compatible server (tests/fixtures/s3_server.py), compared with a local run, trained on,
damaged and resumed."""

import json
from dataclasses import replace
from pathlib import Path

import fsspec
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from physllm.cli import app
from physllm.pipeline.job import run_precompute
from physllm.shards import storage
from physllm.shards.cache import file_sha256, load_cache
from tests.fixtures.tiny_models import tiny_physllm_config


@pytest.fixture(scope="module")
def runs(local_precompute, s3_bucket):
    """The same precompute to a local folder and to s3://<bucket>/cache."""
    cfg, local = local_precompute
    return local, run_precompute(replace(cfg, cache_root=Path(f"{s3_bucket}/cache"))), cfg


def tables(cache_path: Path) -> dict[str, "pq.Table"]:
    """Shard name → its table, for every shard of a cache folder, local or on S3."""
    out = {}
    for shard in storage.files_below(cache_path / "shards"):
        with storage.open_input(shard) as f:
            out[shard.name] = pq.read_table(f)
    return out


def s3_copy(summary, to: str) -> Path:
    """A copy of the cache under another prefix of the bucket (same key: the root is the same)."""
    fs = fsspec.filesystem("s3")
    source = storage.url(summary.path).removeprefix("s3://")
    fs.copy(source, f"{to.removeprefix('s3://')}/synthetic/{summary.key}", recursive=True)
    return Path(f"{to}/synthetic/{summary.key}")


def test_precompute_to_s3_writes_the_shards_of_a_local_run(runs):
    local, remote, _ = runs
    assert storage.is_remote(remote.path) and remote.key == local.key
    assert (remote.videos_done, remote.clips) == (local.videos_done, local.clips) == (4, 12)
    got, want = tables(remote.path), tables(local.path)
    assert sorted(got) == sorted(want)
    for name, table in want.items():
        for column in ("video_id", "clip_index", "hr", "description", "stats_text"):
            assert got[name].column(column).to_pylist() == table.column(column).to_pylist(), column
        for column in ("backbone_wave", "feat_s1", "rgb_mean"):
            np.testing.assert_allclose(got[name].column(column).combine_chunks().to_numpy_ndarray(),
                                       table.column(column).combine_chunks().to_numpy_ndarray(),
                                       rtol=1e-4, atol=1e-5)
    entries = load_cache(remote.path).manifest.done()
    assert entries.keys() == load_cache(local.path).manifest.done().keys()
    for entry in entries.values():  # the manifest's sha256 is the stored object's
        assert file_sha256(remote.path / "shards" / entry["shard"]) == entry["sha256"]


def test_cache_ls_and_verify_on_an_s3_root(runs, s3_bucket):
    _, remote, _ = runs
    listed = CliRunner().invoke(app, ["cache", "ls", "--cache-root", f"{s3_bucket}/cache"])
    assert listed.exit_code == 0, listed.output
    assert remote.key in listed.output and "synthetic" in listed.output
    verified = CliRunner().invoke(app, ["cache", "verify", "--cache-root", f"{s3_bucket}/cache"])
    assert verified.exit_code == 0, verified.output
    assert f"{s3_bucket}/cache/synthetic/{remote.key}: 4 shard(s), ok" in verified.output


@pytest.fixture(scope="module")
def train_config(tiny_bert_dir, tmp_path_factory) -> Path:
    tiny = tiny_physllm_config(tiny_bert_dir).to_dict()
    config = tmp_path_factory.mktemp("train") / "train.yaml"
    config.write_text(yaml.safe_dump({
        "llm": str(tiny_bert_dir), "batch-size": 4, "epochs": 1,
        "model": {k: tiny[k] for k in ("head_channels", "lora_r", "va", "tpg", "apl")}}))
    return config


def test_train_one_epoch_and_evaluate_from_s3_shards(runs, s3_bucket, train_config, tmp_path):
    result = CliRunner().invoke(app, ["train", "--shards", f"{s3_bucket}/cache", "--config", str(train_config),
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "last").is_dir()
    evaluated = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(tmp_path / "run" / "last"),
                                         "--shards", f"{s3_bucket}/cache", "--baselines", "",
                                         "--out", str(tmp_path / "eval")])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((tmp_path / "eval" / "report.json").read_text())


def test_a_damaged_object_on_s3_is_refused_by_train_and_verify(runs, s3_bucket, train_config, tmp_path):
    cache = s3_copy(runs[1], f"{s3_bucket}/damaged")
    shard = storage.files_below(cache / "shards")[0]
    data = bytearray(storage.read_bytes(shard))
    data[len(data) // 2] ^= 0xFF  # one byte flipped, as a bad copy does
    storage.write_atomic(shard, bytes(data))
    result = CliRunner().invoke(app, ["train", "--shards", storage.url(cache), "--config", str(train_config),
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "damaged shard, refused" in result.output and shard.name in result.output
    assert "Traceback" not in result.output
    verified = CliRunner().invoke(app, ["cache", "verify", "--cache-root", f"{s3_bucket}/damaged"])
    assert verified.exit_code == 1 and "does not match its recorded sha256" in verified.output


def test_precompute_resumes_after_a_shard_object_is_deleted(runs, s3_bucket):
    local, remote, cfg = runs
    cache = s3_copy(remote, f"{s3_bucket}/resumed")
    shard = storage.files_below(cache / "shards")[0]
    storage.remove(shard)
    result = CliRunner().invoke(app, ["precompute", "--dataset", "synthetic", "--root", str(cfg.root),
                                      "--cache-root", f"{s3_bucket}/resumed", "--backbone", str(cfg.backbone),
                                      "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert "is missing; computing it again" in result.output and "computed 1 videos" in result.output
    assert storage.is_file(shard) and storage.is_file(cache / "precompute.config.yaml")
    assert sorted(tables(cache)) == sorted(tables(local.path))
    assert CliRunner().invoke(app, ["cache", "verify", "--cache-root", f"{s3_bucket}/resumed"]).exit_code == 0
