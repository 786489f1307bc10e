"""The per-video fallback, calibrated on validation videos by the real trainer."""

import json

import torch

from physllm.model.checkpoint import load_trainable
from physllm.shards.reader import open_shards
from physllm.train.data import ClipStream, split_videos
from physllm.train.gate import PRIOR_BPM, TIE_BPM, TOLERANCES, calibrate_gate, choose_tolerance
from physllm.train.run import train
from physllm.config import build
from physllm.train.trainer import TrainConfig


def test_training_calibrates_the_gate_and_saves_it(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = build(TrainConfig, dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                                  epochs=1, batch_size=8, out=str(tmp_path / "run"), augment=True, backbone_weight=0.5))
    result = train(cfg)
    epoch = result.history[0]
    assert epoch["gate_tolerance_bpm"] in TOLERANCES and "val_mae_ungated" in epoch
    saved = json.loads((result.best_checkpoint / "config.json").read_text())
    assert saved["gate_tolerance_bpm"] == epoch["gate_tolerance_bpm"]

    model = load_trainable(result.best_checkpoint)
    shards = open_shards([tiny_cache])
    splits = split_videos(shards)
    stream = ClipStream(shards, splits.val, model.tokenize_cues, 8, shuffle=False)
    calibration = calibrate_gate(model, stream, shards, splits.val, torch.device("cpu"))
    assert set(calibration.mae) == set(TOLERANCES)
    assert calibration.tolerance_bpm == choose_tolerance(calibration.mae)
    assert calibration.mae[None] == epoch["val_mae_ungated"]


def test_the_ablation_trains_without_a_gate(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = build(TrainConfig, dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                                  epochs=1, batch_size=8, out=str(tmp_path / "run"), gate=False))
    result = train(cfg)
    assert "gate_tolerance_bpm" not in result.history[0]
    assert json.loads((result.best_checkpoint / "config.json").read_text())["gate_tolerance_bpm"] is None


def test_the_lowest_validation_mae_wins_and_a_tie_goes_to_the_prior():
    assert choose_tolerance({None: 9.0, 10.0: 4.0, 6.0: 5.0, 3.0: 7.0, 0.0: 8.0}) == 10.0
    # the model beats its inputs on validation: the fallback stays, as loose as validation allows
    assert choose_tolerance({None: 2.0, 10.0: 4.0, 6.0: 5.0, 0.0: 8.0}) == 10.0
    # a handful of validation videos that cannot tell the tolerances apart: the prior
    tied = {None: 3.0, 10.0: 3.0, 6.0: 3.0 + TIE_BPM / 2, 3.0: 3.0, 0.0: 3.0}
    assert choose_tolerance(tied) == PRIOR_BPM
    assert choose_tolerance({None: 3.0, 10.0: 3.0}) == 10.0  # never falling back is never chosen
