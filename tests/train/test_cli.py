"""`physllm train` and `physllm evaluate` end to end on tiny data, and their bad inputs."""

import csv
import json

import pytest
import yaml
from typer.testing import CliRunner

import physllm.shards.writer as shard_writer
from physllm.cli import app
from tests.train.conftest import write_cache

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def config_file(path, llm, model, **extra):
    path.write_text(yaml.safe_dump({"llm": str(llm), "model": model, "batch-size": 8, **extra}))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_cache, tiny_bert_dir, tiny_model_overrides):
    tmp = tmp_path_factory.mktemp("cli")
    cfg = config_file(tmp / "train.yaml", tiny_bert_dir, tiny_model_overrides, epochs=5)
    result = run("train", "--shards", tiny_cache, "--config", cfg, "--epochs", 1,
                 "--out", tmp / "run")
    assert result.exit_code == 0, result.output
    return tmp


def test_help_names_the_flags():
    for command, flag in (("train", "--protocol"), ("evaluate", "--checkpoint")):
        result = run(command, "--help")
        assert result.exit_code == 0 and flag in result.output


def test_train_then_evaluate(trained, tiny_cache):
    resolved = json.loads((trained / "run" / "train_config.json").read_text())
    assert resolved["epochs"] == 1  # the flag wins over the file
    assert resolved["batch_size"] == 8 and resolved["model"]["lora_r"] == 4  # from the file
    result = run("evaluate", "--checkpoint", trained / "run" / "best", "--shards", tiny_cache,
                 "--out", trained / "eval")
    assert result.exit_code == 0, result.output
    report = json.loads((trained / "eval" / "report.json").read_text())
    assert set(report["methods"]) == {"physllm", "physnet", "green", "chrom", "pos"}
    assert report["settings"]["videos"] == 2  # the test split of synthetic-intra
    for method in report["methods"]:
        assert (trained / "eval" / f"bland_altman_{method}.png").stat().st_size > 0
    assert len(list((trained / "eval" / "waveforms").glob("*.png"))) == 2
    assert (trained / "eval" / "per_video.csv").is_file()


def test_a_model_without_cue_prompts_trains_and_evaluates(tmp_path, tiny_cache, tiny_bert_dir, tiny_model_overrides):
    """The paper's "w/o APL" ablation from a config file: `model.apl.cue_types: []`."""
    model = {**tiny_model_overrides, "apl": {**tiny_model_overrides["apl"], "cue_types": []}}
    cfg = config_file(tmp_path / "train.yaml", tiny_bert_dir, model)
    result = run("train", "--shards", tiny_cache, "--config", cfg, "--epochs", 1, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "best" / "config.json").read_text())
    assert saved["apl"]["cue_types"] == []
    result = run("evaluate", "--checkpoint", tmp_path / "run" / "best", "--shards", tiny_cache,
                 "--out", tmp_path / "eval")
    assert result.exit_code == 0, result.output


def test_evaluate_per_window(trained, tiny_cache):
    """6 clips of 32 frames at 30 fps = 6.4 s a video: two 3.2-s windows each."""
    result = run("evaluate", "--checkpoint", trained / "run" / "best", "--shards", tiny_cache,
                 "--out", trained / "eval_windows", "--window-seconds", 3.2, "--baselines", "")
    assert result.exit_code == 0, result.output
    assert "3.2-s windows" in result.output
    report = json.loads((trained / "eval_windows" / "report.json").read_text())
    assert report["settings"]["window_seconds"] == 3.2
    with open(trained / "eval_windows" / "per_video.csv") as f:
        every = list(csv.DictReader(f))
    assert {r["method"] for r in every} == {"physllm", "physnet"}  # `--baselines ""`: none
    rows = [r for r in every if r["method"] == "physllm"]
    assert sorted(r["window"] for r in rows) == ["0", "0", "1", "1"]


def fails_with(result, *phrases):
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output.replace("\n", " "), result.output


def test_shards_of_different_schema_versions(tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setattr(shard_writer, "SCHEMA_VERSION", 0)
    old = write_cache(tmp_path, "pure", videos=2, clips=1)
    fails_with(run("train", "--shards", tiny_cache, "--shards", old, "--out", tmp_path / "run"),
               "schema version 0")


def test_checkpoint_of_other_clip_length(trained, tmp_path):
    long_clips = write_cache(tmp_path, videos=5, clips=2, t=64)
    fails_with(run("evaluate", "--checkpoint", trained / "run" / "best", "--shards", long_clips,
                   "--out", tmp_path / "eval"), "32 frames", "64 frames")


def test_resume_with_a_model_config_the_checkpoint_does_not_fit(trained, tiny_cache, tiny_bert_dir,
                                                                tiny_model_overrides):
    other = config_file(trained / "other.yaml", tiny_bert_dir, {**tiny_model_overrides, "bypass": False})
    fails_with(run("train", "--shards", tiny_cache, "--config", other, "--out", trained / "run",
                   "--resume"), "other shapes than the config builds")


def test_resume_on_other_shards_than_the_run_began_on(trained, tmp_path, tiny_bert_dir, tiny_model_overrides):
    other_cues = write_cache(tmp_path, videos=10, clips=6, seed=7)  # same shapes, another cache key
    cfg = config_file(tmp_path / "train.yaml", tiny_bert_dir, tiny_model_overrides, epochs=5)
    fails_with(run("train", "--shards", other_cues, "--config", cfg, "--out", trained / "run", "--resume"),
               "cannot resume", "resume with the same shards")


def test_empty_split(tmp_path, tiny_bert_dir):
    one_subject = write_cache(tmp_path, videos=1, clips=2)
    fails_with(run("train", "--shards", one_subject, "--llm", tiny_bert_dir, "--out", tmp_path / "run"),
               "no training videos")


def test_protocol_naming_a_dataset_with_no_cache(tmp_path, tiny_cache):
    fails_with(run("train", "--shards", tiny_cache, "--protocol", "pure->ubfc-rppg",
                   "--out", tmp_path / "run"), "needs dataset(s) pure, ubfc-rppg")


def test_unknown_setting_in_the_config_file(tmp_path, tiny_cache):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"learning_rate": 1e-3}))
    fails_with(run("train", "--shards", tiny_cache, "--config", bad), "unknown setting", "learning_rate")
