"""`physllm evaluate` over malformed inputs: each refused in one line with exit 2, naming the
path or option, with no traceback, no code run from a pickle, and an earlier evaluation in
--out, the checkpoint and the shards left as they were."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from physllm.cli import app
from tests.fixtures.bad_inputs import (BadFiles, TinyRun, assert_kept, assert_refused, copy_cache,
                                       remove_shard, snapshot, split_video, tamper_shard)


@dataclass
class Inputs:
    cache: Path  # a copy of the tiny cache, free to damage
    checkpoint: Path  # a copy of the tiny checkpoint, free to damage
    out: Path  # holds an earlier evaluation, which a refused command must keep
    bad: BadFiles


def replace_file(target: Path, source: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def lora_as_pickle(i: Inputs) -> Path:
    """The LoRA weights as peft's pickled `adapter_model.bin` (its fallback), holding code."""
    lora = i.checkpoint / "lora"
    (lora / "adapter_model.safetensors").unlink()
    return replace_file(lora / "adapter_model.bin", i.bad.malicious_pickle)


# Each row: inputs → (flags to change; phrases the message must hold).
CASES = {
    "checkpoint missing": lambda i: ({"--checkpoint": i.bad.missing}, [i.bad.missing]),
    "checkpoint folder empty": lambda i: ({"--checkpoint": i.bad.empty_folder},
                                          [i.bad.empty_folder, "not a PhysLLM checkpoint"]),
    "checkpoint config random bytes": lambda i: (
        {}, [replace_file(i.checkpoint / "config.json", i.bad.random_bytes)]),
    "checkpoint training record random bytes": lambda i: (
        {}, [replace_file(i.checkpoint / "training.json", i.bad.random_bytes)]),
    "checkpoint adapters random bytes": lambda i: (
        {}, [replace_file(i.checkpoint / "adapters.safetensors", i.bad.random_bytes)]),
    "checkpoint adapters malicious pickle": lambda i: (
        {}, [replace_file(i.checkpoint / "adapters.safetensors", i.bad.malicious_pickle)]),
    "checkpoint lora random bytes": lambda i: (
        {}, [i.checkpoint / "lora", replace_file(i.checkpoint / "lora" / "adapter_model.safetensors",
                                                 i.bad.random_bytes) and "LoRA"]),
    "checkpoint lora malicious pickle": lambda i: ({}, [lora_as_pickle(i).parent, "LoRA"]),
    "shards folder missing": lambda i: ({"--shards": i.bad.missing}, [i.bad.missing]),
    "shards folder empty": lambda i: ({"--shards": i.bad.empty_folder},
                                      [i.bad.empty_folder, "no physllm cache here"]),
    "shard tampered": lambda i: ({}, [tamper_shard(i.cache, split_video(i.cache, "test")),
                                      "damaged shard", "physllm cache verify"]),
    "shard missing": lambda i: ({}, [remove_shard(i.cache, split_video(i.cache, "test")),
                                     "missing", "physllm cache verify"]),
    "split unknown": lambda i: ({"--split": "testing"}, ["testing"]),
    "protocol unknown": lambda i: ({"--protocol": "ubfc-intra-typo"}, ["ubfc-intra-typo"]),
    "baseline unknown": lambda i: ({"--baselines": "pos,ica"}, ["ica"]),
    "device unknown": lambda i: ({"--device": "tpu9"}, ["tpu9"]),
    "window seconds 0": lambda i: ({"--window-seconds": 0}, ["--window-s"]),  # the alias of --window-s
}


@pytest.fixture
def inputs(tmp_path, tiny_run: TinyRun, bad_files: BadFiles) -> Inputs:
    checkpoint = Path(shutil.copytree(tiny_run.checkpoint, tmp_path / "checkpoint"))
    out = tmp_path / "eval"
    out.mkdir()
    (out / "report.json").write_text('{"an": "earlier evaluation"}')
    return Inputs(copy_cache(tiny_run.cache, tmp_path / "caches"), checkpoint, out, bad_files)


@pytest.mark.parametrize("case", CASES)
def test_evaluate_refuses(case, inputs):
    changes, phrases = CASES[case](inputs)
    flags = {"--checkpoint": inputs.checkpoint, "--shards": inputs.cache, "--out": inputs.out,
             "--baselines": "pos"} | changes
    before = snapshot(inputs.out, inputs.cache, inputs.checkpoint)
    args = ["evaluate", *(str(x) for flag, value in flags.items() for x in (flag, value))]
    assert_refused(CliRunner().invoke(app, args), 2, *phrases)
    assert_kept(before)
    assert not inputs.bad.pickle_ran()


def test_the_untouched_inputs_evaluate(inputs, tmp_path):
    """The rows' baseline: nothing damaged, the same flags evaluate."""
    result = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(inputs.checkpoint), "--shards",
                                      str(inputs.cache), "--out", str(tmp_path / "fresh"),
                                      "--baselines", "pos"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh" / "report.json").is_file()
