"""The fallback to the backbone, calibrated on validation videos by the real trainer."""

import json

import torch

from physllm.model.checkpoint import load_trainable
from physllm.shards.reader import open_shards
from physllm.train.data import ClipStream, split_videos
from physllm.train.gate import ALWAYS, MARGINS, NEVER, calibrate_gate
from physllm.train.run import train
from physllm.train.trainer import TrainConfig


def test_training_calibrates_the_gate_and_saves_it(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = TrainConfig(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                      epochs=1, batch_size=8, out=str(tmp_path / "run"), augment=True, backbone_weight=0.5)
    result = train(cfg)
    epoch = result.history[0]
    assert epoch["gate_margin"] in MARGINS and "val_mae_ungated" in epoch
    saved = json.loads((result.best_checkpoint / "config.json").read_text())
    assert saved["gate_margin"] == epoch["gate_margin"]

    model = load_trainable(result.best_checkpoint)
    shards = open_shards([tiny_cache])
    splits = split_videos(shards)
    stream = ClipStream(shards, splits.val, model.tokenize_cues, 8, shuffle=False)
    calibration = calibrate_gate(model, stream, shards, splits.val, torch.device("cpu"))
    assert set(calibration.mae) == set(MARGINS)
    # the chosen margin is the lowest MAE, the larger margin on a tie; NEVER is PhysNet's own MAE
    best = min(calibration.mae.values())
    assert calibration.margin == max(m for m, v in calibration.mae.items() if v == best)
    assert calibration.mae[NEVER] == epoch["val_mae_physnet"] and ALWAYS in calibration.mae


def test_the_ablation_trains_without_a_gate(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = TrainConfig(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                      epochs=1, batch_size=8, out=str(tmp_path / "run"), gate=False)
    result = train(cfg)
    assert "gate_margin" not in result.history[0]
    assert json.loads((result.best_checkpoint / "config.json").read_text())["gate_margin"] is None
