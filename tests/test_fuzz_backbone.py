"""`physllm backbone train` and `physllm demo --backbone` over bad inputs: each refused before
any training or rendering, with exit 2, one line naming the path or option, no traceback, no
code run from a pickle, and files already there kept."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from physllm.cli import app
from tests.fixtures.bad_inputs import BadFiles, assert_kept, assert_refused, snapshot

# backbone train rows: (dataset root, bad files) → (flags to change; phrases the message holds)
TRAIN_CASES = {
    "root missing": lambda root, bad: ({"--root": bad.missing}, [bad.missing]),
    "root empty": lambda root, bad: ({"--root": bad.empty_folder}, [bad.empty_folder]),
    "dataset unknown": lambda root, bad: ({"--dataset": "synthetik"}, ["synthetik"]),
    "too few subjects to split": lambda root, bad: ({}, [root, "too few subjects"]),
    "epochs 0": lambda root, bad: ({"--epochs": 0}, ["--epochs"]),
}

# demo rows: bad files → (the --backbone given; phrases the message holds)
DEMO_CASES = {
    "backbone missing": lambda bad: (bad.missing, [bad.missing]),
    "backbone empty file": lambda bad: (bad.empty_file, [bad.empty_file]),
    "backbone random bytes": lambda bad: (bad.random_bytes, [bad.random_bytes]),
    "backbone malicious pickle": lambda bad: (bad.malicious_pickle, [bad.malicious_pickle]),
}


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_backbone_train_refuses(case, tmp_path, synthetic_root, bad_files: BadFiles):
    root = tmp_path / "data"
    shutil.copytree(synthetic_root / "subject1", root / "subject1")  # one subject: no test split
    out = tmp_path / "physnet.pth"
    out.write_bytes(b"an earlier backbone")
    changes, phrases = TRAIN_CASES[case](root, bad_files)
    flags = {"--dataset": "ubfc-rppg", "--root": root, "--out": out} | changes
    before = snapshot(tmp_path)
    args = ["backbone", "train", *(str(x) for flag, value in flags.items() for x in (flag, value))]
    assert_refused(CliRunner().invoke(app, args), 2, *phrases)
    assert_kept(before)


@pytest.mark.parametrize("case", DEMO_CASES)
def test_demo_refuses_a_bad_backbone_before_rendering(case, tmp_path, bad_files: BadFiles):
    backbone, phrases = DEMO_CASES[case](bad_files)
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--backbone", str(backbone)])
    assert_refused(result, 2, *phrases)
    assert not out.exists()  # nothing rendered, nothing started
    assert not bad_files.pickle_ran()
