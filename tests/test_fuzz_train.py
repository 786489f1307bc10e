"""`physllm train` over malformed inputs: each refused in one line with exit 2, naming the path
or option, with no traceback, and the earlier run in --out left as it was."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from physllm.cli import app
from tests.fixtures.bad_inputs import (BadFiles, TinyRun, assert_kept, assert_refused, copy_cache,
                                       flip_middle_byte, manifest_of, remove_shard, snapshot,
                                       split_video, tamper_shard)


@dataclass
class Inputs:
    cache: Path  # a copy of the tiny cache, free to damage
    out: Path  # a copy of an earlier run, which a refused command must keep
    config: Path
    bad: BadFiles
    tmp: Path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# Each row: inputs → (flags to change, None dropping one; phrases the message must hold).
CASES = {
    "shards folder missing": lambda i: ({"--shards": i.bad.missing}, [i.bad.missing]),
    "shards folder empty": lambda i: ({"--shards": i.bad.empty_folder},
                                      [i.bad.empty_folder, "no physllm cache here"]),
    "shard tampered": lambda i: ({}, [tamper_shard(i.cache, split_video(i.cache, "train")),
                                      "damaged shard", "physllm cache verify"]),
    "shard missing": lambda i: ({}, [remove_shard(i.cache, split_video(i.cache, "val")),
                                     "missing", "physllm cache verify"]),
    "manifest not JSON": lambda i: ({}, [flip_middle_byte(manifest_of(i.cache)),
                                         "not a physllm manifest"]),
    "config file missing": lambda i: ({"--config": i.bad.missing}, [i.bad.missing]),
    "config file random bytes": lambda i: ({"--config": i.bad.random_bytes}, [i.bad.random_bytes]),
    "config file not a mapping": lambda i: ({"--config": write(i.tmp / "list.yaml", "- 1\n- 2\n")},
                                            [i.tmp / "list.yaml"]),
    "config key unknown": lambda i: ({"--config": write(i.tmp / "typo.yaml", "epocs: 3\n")},
                                     ["epocs"]),
    "protocol unknown": lambda i: ({"--protocol": "ubfc-intra-typo"}, ["ubfc-intra-typo"]),
    "llm folder missing": lambda i: ({"--llm": i.bad.missing}, [i.bad.missing]),
    "resume state random bytes": lambda i: (
        {"--resume": True}, [replace_file(i.out / "last" / "train_state.pt", i.bad.random_bytes),
                             "not a training state"]),
    "resume state malicious pickle": lambda i: (
        {"--resume": True}, [replace_file(i.out / "last" / "train_state.pt", i.bad.malicious_pickle),
                             "not a training state"]),
    "epochs 0": lambda i: ({"--epochs": 0}, ["epochs"]),
    "batch size 0": lambda i: ({"--batch-size": 0}, ["batch"]),
}


def replace_file(target: Path, source: Path) -> Path:
    shutil.copyfile(source, target)
    return target


@pytest.fixture
def inputs(tmp_path, tiny_run: TinyRun, bad_files: BadFiles) -> Inputs:
    out = tmp_path / "run"
    shutil.copytree(tiny_run.checkpoint.parent, out)
    return Inputs(copy_cache(tiny_run.cache, tmp_path / "caches"), out, tiny_run.config, bad_files,
                  tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_train_refuses(case, inputs):
    changes, phrases = CASES[case](inputs)
    flags = {"--shards": inputs.cache, "--config": inputs.config, "--out": inputs.out,
             "--max-steps": 2} | changes
    before = snapshot(inputs.out, inputs.cache)
    args = ["train"]
    for flag, value in flags.items():
        if value is True:
            args.append(flag)
        elif value is not None:
            args += [flag, str(value)]
    result = CliRunner().invoke(app, args)
    assert_refused(result, 2, *phrases)
    assert_kept(before)
    assert not inputs.bad.pickle_ran()


def test_the_untouched_inputs_train(inputs):
    """The rows' baseline: the same flags with nothing damaged train (so each row's refusal is
    its own input's doing)."""
    result = CliRunner().invoke(app, ["train", "--shards", str(inputs.cache), "--config",
                                      str(inputs.config), "--out", str(inputs.tmp / "fresh"),
                                      "--max-steps", "1"])
    assert result.exit_code == 0, result.output
    assert torch.load(inputs.tmp / "fresh" / "last" / "train_state.pt", weights_only=True)
