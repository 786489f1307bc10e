"""Every command answers `--help` with its docstring, and the top level lists them all."""

import pytest
from typer.testing import CliRunner

from physllm.cli import app

runner = CliRunner()

COMMANDS = [["precompute"], ["train"], ["evaluate"], ["predict"], ["demo"], ["datasets", "list"],
            ["datasets", "check"], ["datasets", "synth"], ["cache", "ls"], ["cache", "info"],
            ["cache", "verify"], ["backbone", "train"]]


def test_top_level_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("precompute", "train", "evaluate", "predict", "demo", "datasets", "cache", "backbone"):
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_each_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output


def test_an_unknown_dataset_name_is_a_clear_exit_2(tmp_path):
    result = runner.invoke(app, ["datasets", "check", "--dataset", "ubfc3", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "ubfc3" in result.output and "ubfc-rppg" in result.output
