"""`physllm demo` end to end on a tiny setting: every stage runs once, a second run reuses them.

A random PhysNet the tests write (tests/fixtures/tiny_models.py) stands in for the trained
synthetic backbone (its training is tested in tests/pipeline/test_backbone.py), so the whole path
runs on any clone in about a CI minute. rPPG-Toolbox's released UBFC-rPPG PhysNet, where it is
present (tests/fixtures/released_weights.py), runs the same path once more.
"""

import json
from pathlib import Path

import pytest

from physllm.demo import DemoConfig, run_demo, training_config
from physllm.errors import PhysllmError
from tests.fixtures.released_weights import released_physnet


def tiny_demo_config(out: Path, backbone: Path) -> DemoConfig:
    # renderer 1: 5 subjects, 3 train / 1 val / 1 test (first renderer's split); 10 s make three
    # 128-frame clips per video (the last overlapping); renderer 2: 2 subjects, 1 val / 1 test
    return DemoConfig(out=out, subjects=5, subjects2=2, seconds=10.0, epochs=1, batch_size=2, backbone=backbone)


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory, ray_local, random_physnet):
    cfg = tiny_demo_config(tmp_path_factory.mktemp("demo"), random_physnet)
    return cfg, run_demo(cfg)


@pytest.fixture(scope="module")
def released_backbone_demo(tmp_path_factory, ray_local):
    backbone = released_physnet("UBFC-rPPG_PhysNet_DiffNormalized.pth")
    cfg = tiny_demo_config(tmp_path_factory.mktemp("demo_released"), backbone)
    return cfg, run_demo(cfg)


def check_trained_and_evaluated(cfg: DemoConfig, result) -> None:
    rows = result.report.select(hr_method="fft", group="all")
    assert sorted(r["method"] for r in rows) == ["chrom", "green", "physllm", "physnet", "pos"]
    assert all(r["n"] == 1 for r in rows)
    info = json.loads((result.checkpoint / "training.json").read_text())
    assert info["caches"][0]["key"] == result.cache.name
    assert result.checkpoint == Path(training_config(cfg, list(result.caches)).out) / "best"
    assert (cfg.eval_dir / "report.json").is_file()


def test_demo_trains_and_evaluates_every_method(tiny_demo):
    check_trained_and_evaluated(*tiny_demo)


def test_demo_on_the_released_ubfc_physnet(released_backbone_demo):
    check_trained_and_evaluated(*released_backbone_demo)


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


def test_a_trained_backbone_learns_from_faces_physllm_never_trains_on(tmp_path):
    from physllm.data_catalog import scan
    from physllm.demo import render_data

    cfg = DemoConfig(out=tmp_path / "demo", subjects=5, subjects2=2, seconds=2.0)
    render_data(cfg)
    physllm_videos, backbone_videos = (scan("synthetic", root) for root in (cfg.data_dir, cfg.backbone_data_dir))
    assert len(physllm_videos) == len(backbone_videos) == cfg.subjects
    for ours, theirs in zip(physllm_videos, backbone_videos):
        assert ours.path.read_bytes() != theirs.path.read_bytes()  # other faces and pulses, same renderer
    released = DemoConfig(out=tmp_path / "released", subjects=5, subjects2=2, seconds=2.0, backbone=Path("x.pth"))
    render_data(released)
    assert not released.backbone_data_dir.exists()  # a given backbone needs no faces of its own
