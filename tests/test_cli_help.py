"""Every command answers `--help` with its options and `--config`, reads a config file, checks its
options' ranges before any work, and the top level lists them all without importing torch."""

import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from physllm import cli
from physllm.cli import app
from physllm.config import options_of

runner = CliRunner()

GROUPS = {(): cli.TOP, ("datasets",): cli.DATASETS, ("cache",): cli.CACHE, ("backbone",): cli.BACKBONE}
COMMANDS = [[*group, name] for group, commands in GROUPS.items() for name in commands]
POSITIONAL = {("cache", "info"): ["0123abcd"], ("predict",): ["video.mp4"]}
UNRANGED = {"seed", "snr_centre_db"}  # any integer seed; an SNR in dB may be negative


def options_class(command):
    *group, name = command
    return GROUPS[tuple(group)][name].load()[0]


def test_top_level_help_lists_every_command_without_importing_torch():
    code = ("import sys; from typer.testing import CliRunner; from physllm.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); print(r.output); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in ("precompute", "train", "evaluate", "predict", "demo", "datasets", "cache", "backbone"):
        assert name in out
    assert out.strip().endswith("False")


@pytest.mark.parametrize("command", [*COMMANDS, ["datasets", "list"]], ids=" ".join)
def test_each_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output
    if command != ["datasets", "list"]:
        assert "--config" in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_each_command_reads_its_config_file(command, tmp_path):
    """A key the command does not have is refused, by name: the file was read, before any work."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"not_an_option": 1}))
    result = runner.invoke(app, [*command, *POSITIONAL.get(tuple(command), []), "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "error: unknown setting(s) ['not_an_option']" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_numeric_option_has_a_range(command):
    numeric = [o for o in options_of(options_class(command)) if o.type in (int, float) and o.key not in UNRANGED]
    assert [o.key for o in numeric if o.range is None] == []


@pytest.mark.parametrize("args, message", [
    (["predict", "video.mp4", "--baseline", "pos", "--window", "0"], "--window-s must be > 0, got 0.0"),
    (["predict", "video.mp4", "--baseline", "pos", "--step", "-1"], "--step-s must be > 0, got -1.0"),
    (["predict", "video.mp4", "--baseline", "pos", "--fps", "0"], "--fps must be > 0, got 0.0"),
    (["train", "--shards", "x", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["train", "--shards", "x", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["evaluate", "--checkpoint", "c", "--shards", "s", "--window-seconds", "0.5"], "--window-s must be >= 1"),
    (["precompute", "--dataset", "synthetic", "--root", ".", "--clips.clip-frames", "0"],
     "--clips.clip-frames must be >= 4, got 0"),
    (["demo", "--subjects", "2"], "--subjects must be >= 5, got 2"),
    (["datasets", "synth", "--out", "x", "--subjects", "0"], "--num-subjects must be >= 1, got 0"),
    (["backbone", "train", "--dataset", "synthetic", "--root", ".", "--out", "b.pth", "--lr", "0"],
     "--lr must be > 0"),
], ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_an_option_out_of_range_is_refused_before_any_work(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ") and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_unknown_dataset_name_is_a_clear_exit_2(tmp_path):
    result = runner.invoke(app, ["datasets", "check", "--dataset", "ubfc3", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "ubfc3" in result.output and "ubfc-rppg" in result.output


def test_a_config_file_sets_what_the_flags_set(tmp_path):
    root = tmp_path / "caches"
    root.mkdir()
    path = tmp_path / "ls.json"
    path.write_text(f'{{"cache-root": "{root}"}}')
    assert runner.invoke(app, ["cache", "ls", "--config", str(path)]).exit_code == 0
    missing = runner.invoke(app, ["cache", "ls", "--config", str(path), "--cache-root", str(tmp_path / "no")])
    assert missing.exit_code == 2 and "no such cache root" in missing.output  # the flag wins
