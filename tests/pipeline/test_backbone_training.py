"""The backbone trainer's loss, checkpoints and cached default (pipeline/backbone_training.py)."""

import pytest
import torch

from physllm.data_catalog import scan
from physllm.errors import PhysllmError
from physllm.model.physnet import load_physnet
from physllm.pipeline.backbone_training import BackboneTrainConfig, default_backbone, neg_pearson_loss, train_backbone

TINY_TRAINING = BackboneTrainConfig(epochs=1, max_epochs=1, batch_size=2, train_frames=16)


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

    monkeypatch.setattr("physllm.pipeline.backbone_training.train_backbone", counting)
    first = default_backbone(tmp_path, "synthetic", synthetic_root, TINY_TRAINING, log=lambda _: None)
    second = default_backbone(tmp_path, "synthetic", synthetic_root, TINY_TRAINING, log=lambda _: None)
    assert first == second and first.parent == tmp_path / "backbones" and len(calls) == 1


def test_default_backbone_refuses_a_real_dataset(tmp_path):
    with pytest.raises(PhysllmError, match="--backbone"):
        default_backbone(tmp_path, "ubfc-rppg", tmp_path)
