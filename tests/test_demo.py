"""`physllm demo` end to end on a tiny setting: every stage runs once, a second run reuses them.

A released PhysNet checkpoint stands in for the trained synthetic backbone (its training is
tested in tests/pipeline/test_backbone.py) so the whole path fits in a CI minute.
"""

import json
from pathlib import Path

import pytest

from physllm.demo import DemoConfig, run_demo, training_config
from physllm.errors import PhysllmError

UBFC = (Path(__file__).resolve().parents[1] / ".." / "shared" / "weights" / "rppg-toolbox"
        / "UBFC-rPPG_PhysNet_DiffNormalized.pth")


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory, ray_local):
    # 5 subjects: 3 train / 1 val / 1 test; 10 s make two 128-frame clips per video
    # renderer 2: 2 subjects, 1 val / 1 test
    cfg = DemoConfig(out=tmp_path_factory.mktemp("demo"), subjects=5, subjects2=2, seconds=10.0, epochs=1,
                     batch_size=2, backbone=UBFC)
    return cfg, run_demo(cfg)


def test_demo_trains_and_evaluates_every_method(tiny_demo):
    cfg, result = tiny_demo
    rows = result.report.select(hr_method="fft", group="all")
    assert sorted(r["method"] for r in rows) == ["chrom", "green", "physllm", "physnet", "pos"]
    assert all(r["n"] == 1 for r in rows)
    info = json.loads((result.checkpoint / "training.json").read_text())
    assert info["caches"][0]["key"] == result.cache.name
    assert result.checkpoint == Path(training_config(cfg, list(result.caches)).out) / "best"
    assert (cfg.eval_dir / "report.json").is_file()


def test_second_demo_run_recomputes_nothing(tiny_demo):
    cfg, first = tiny_demo
    outputs = [*first.cache.glob("shards/*.parquet"), first.checkpoint / "adapters.safetensors"]
    assert len(outputs) == cfg.subjects + 1
    written = {path: path.stat().st_mtime_ns for path in outputs}
    second = run_demo(cfg)
    assert (second.cache, second.checkpoint) == (first.cache, first.checkpoint)
    assert {path: path.stat().st_mtime_ns for path in outputs} == written
    assert second.report.select(hr_method="fft", group="all") == first.report.select(hr_method="fft", group="all")


def test_a_missing_backbone_is_refused_before_any_work(tmp_path):
    with pytest.raises(PhysllmError, match="backbone checkpoint not found"):
        run_demo(DemoConfig(out=tmp_path / "demo", backbone=tmp_path / "missing.pth"))
    assert not (tmp_path / "demo").exists()
