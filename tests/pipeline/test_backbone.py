"""The frozen-PhysNet runner, the backbone trainer's loss and checkpoints (pipeline/backbone.py)."""

import numpy as np
import pytest
import torch

from physllm.errors import PhysllmError
from physllm.model.physnet import diff_normalize_frames, feature_shapes, load_physnet
from physllm.pipeline.backbone import (BackboneRunner, BackboneTrainConfig, default_backbone,
                                       neg_pearson_loss, train_backbone)
from physllm.data_catalog import scan

TINY_TRAINING = BackboneTrainConfig(epochs=1, max_epochs=1, batch_size=2, train_frames=16)


def test_runner_batches_match_one_forward_pass_per_clip(random_physnet):
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 72, 72, 3), dtype=np.uint8)
    out = BackboneRunner(random_physnet, batch_size=2).run(frames)
    assert out.wave.shape == (3, 32)
    assert [f.shape[1:] for f in out.features] == feature_shapes(32)
    model = load_physnet(random_physnet)
    with torch.no_grad():
        x = torch.from_numpy(diff_normalize_frames(frames[2])).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
        ref = model(x)
    np.testing.assert_allclose(out.wave[2], ref.wave[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.features[3][2], ref.features[3][0].numpy(), rtol=1e-4, atol=1e-5)


def test_neg_pearson_is_zero_for_a_match_and_two_for_the_opposite():
    label = torch.sin(torch.linspace(0, 12, 64))[None]
    assert neg_pearson_loss(3 * label + 1, label).item() == pytest.approx(0.0, abs=1e-6)
    assert neg_pearson_loss(-label, label).item() == pytest.approx(2.0, abs=1e-6)


def test_trained_checkpoint_loads_with_its_provenance(synthetic_root, tmp_path):
    records = scan("synthetic", synthetic_root)[:1]
    path = train_backbone(records, tmp_path / "bb.pth", TINY_TRAINING, log=lambda _: None)
    load_physnet(path)  # the toolbox's keys under "state_dict"
    saved = torch.load(path, weights_only=True)
    assert saved["physllm"]["videos"] == [records[0].video_id] and saved["physllm"]["clips"] == 3


def test_default_backbone_is_trained_once_then_reused(synthetic_root, tmp_path, monkeypatch):
    calls = []
    real = train_backbone

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("physllm.pipeline.backbone.train_backbone", counting)
    first = default_backbone(tmp_path, "synthetic", synthetic_root, TINY_TRAINING, log=lambda _: None)
    second = default_backbone(tmp_path, "synthetic", synthetic_root, TINY_TRAINING, log=lambda _: None)
    assert first == second and first.parent == tmp_path / "backbones" and len(calls) == 1


def test_default_backbone_refuses_a_real_dataset(tmp_path):
    with pytest.raises(PhysllmError, match="--backbone"):
        default_backbone(tmp_path, "ubfc-rppg", tmp_path)
