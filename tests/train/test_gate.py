"""The fallback to the backbone, calibrated on validation videos by the real trainer."""

import json

import torch

from physllm.model.checkpoint import load_trainable
from physllm.shards.reader import open_shards
from physllm.train.data import ClipStream, split_videos
from physllm.train.gate import ALWAYS, MARGINS, MIN_GAIN_BPM, NEVER, calibrate_gate, choose_margin
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
    assert calibration.margin == choose_margin(calibration.mae)  # NEVER is PhysNet's own MAE
    assert calibration.mae[NEVER] == epoch["val_mae_physnet"] and ALWAYS in calibration.mae


def test_the_ablation_trains_without_a_gate(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = TrainConfig(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                      epochs=1, batch_size=8, out=str(tmp_path / "run"), gate=False)
    result = train(cfg)
    assert "gate_margin" not in result.history[0]
    assert json.loads((result.best_checkpoint / "config.json").read_text())["gate_margin"] is None


def test_a_fallback_is_kept_only_where_it_saves_a_clear_margin_on_validation():
    # the loco-talking case: 0.07 bpm on 5 validation videos is no reason to fall back
    assert choose_margin({ALWAYS: 0.21, 0.0: 0.18, 0.05: 0.14, NEVER: 34.6}) == ALWAYS
    # the model hurts the validation videos: PhysNet everywhere
    assert choose_margin({ALWAYS: 25.0, 0.1: 24.5, NEVER: 20.0}) == NEVER
    # a partial fallback that clearly helps; on a tie the larger margin (nearer the backbone)
    assert choose_margin({ALWAYS: 10.0, 0.1: 8.0, 0.2: 8.0, NEVER: 12.0}) == 0.2
    assert choose_margin({ALWAYS: 10.0, NEVER: 10.0 - MIN_GAIN_BPM}) == NEVER
