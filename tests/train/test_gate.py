"""The per-video fallback, calibrated on validation videos by the real trainer."""

import json

import torch

from physllm.evaluation.report import signals_from_shards
from physllm.model.checkpoint import load_trainable
from physllm.shards.reader import open_shards
from physllm.train.data import ClipStream, split_videos
from physllm.train.gate import MARGINS_DB, PRIOR_BPM, TIE_BPM, TOLERANCES, calibrate_gate, choose_setting
from physllm.train.inference import inputs_of, predict_videos
from physllm.train.run import train
from physllm.config import build
from physllm.train.trainer import TrainConfig


def test_training_calibrates_the_gate_and_saves_it(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = build(TrainConfig, dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                                  epochs=1, batch_size=8, out=str(tmp_path / "run"), augment=True, backbone_weight=0.5))
    result = train(cfg)
    epoch = result.history[0]
    assert epoch["gate_tolerance_bpm"] in TOLERANCES and "val_mae_ungated" in epoch
    assert epoch["gate_margin_db"] in MARGINS_DB
    saved = json.loads((result.best_checkpoint / "config.json").read_text())
    assert saved["gate_tolerance_bpm"] == epoch["gate_tolerance_bpm"]
    assert saved["gate_margin_db"] == epoch["gate_margin_db"]

    model = load_trainable(result.best_checkpoint)
    shards = open_shards([tiny_cache])
    splits = split_videos(shards)
    stream = ClipStream(shards, splits.val, model.tokenize_cues, 8, shuffle=False)
    predictions = predict_videos(model, stream, torch.device("cpu"))
    signals = signals_from_shards(shards, splits.val, predictions.joined(), baselines=())
    calibration = calibrate_gate(signals, [inputs_of(video) for video in signals])
    assert set(calibration.mae) == {(None, 0.0)} | {(t, m) for t in TOLERANCES[1:] for m in MARGINS_DB}
    assert (calibration.tolerance_bpm, calibration.margin_db) == choose_setting(calibration.mae)
    assert calibration.ungated_mae == epoch["val_mae_ungated"]


def test_the_ablation_trains_without_a_gate(tiny_cache, tiny_bert_dir, tiny_model_overrides, tmp_path):
    cfg = build(TrainConfig, dict(shards=[str(tiny_cache)], llm=str(tiny_bert_dir), model=tiny_model_overrides,
                                  epochs=1, batch_size=8, out=str(tmp_path / "run"), gate=False))
    result = train(cfg)
    assert "gate_tolerance_bpm" not in result.history[0]
    assert json.loads((result.best_checkpoint / "config.json").read_text())["gate_tolerance_bpm"] is None


def test_the_lowest_validation_mae_wins_and_a_tie_goes_to_the_prior():
    def tolerances(mae: dict, margin: float = 0.0) -> dict:
        return {(t, 0.0 if t is None else margin): m for t, m in mae.items()}

    assert choose_setting(tolerances({None: 9.0, 10.0: 4.0, 6.0: 5.0, 3.0: 7.0, 0.0: 8.0})) == (10.0, 0.0)
    # the model beats its inputs on validation: the fallback stays, as loose as validation allows
    assert choose_setting(tolerances({None: 2.0, 10.0: 4.0, 6.0: 5.0, 0.0: 8.0})) == (10.0, 0.0)
    # a handful of validation videos that cannot tell the settings apart: no margin, the prior tolerance
    tied = tolerances({None: 3.0, 10.0: 3.0, 6.0: 3.0 + TIE_BPM / 2, 3.0: 3.0, 0.0: 3.0})
    assert choose_setting({**tied, (6.0, 3.0): 3.0, (10.0, 6.0): 3.0}) == (PRIOR_BPM, 0.0)
    assert choose_setting(tolerances({None: 3.0, 10.0: 3.0})) == (10.0, 0.0)  # never falling back is never chosen
    # PhysLLM breaking the inputs' ties is clearly better: the margin is kept
    assert choose_setting({**tied, (6.0, 3.0): 1.0, (10.0, 6.0): 1.1}) == (6.0, 3.0)
