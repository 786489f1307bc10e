"""`physllm datasets check` over malformed dataset folders: each refused with exit 2 and one
line naming the file or option, no traceback, and the folder left as it was (it only reads)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from physllm.cli import app
from tests.fixtures.bad_inputs import BadFiles, assert_kept, assert_refused, snapshot, truncate


def subject(root: Path, name: str = "subject1") -> Path:
    return root / name


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def halve_gt_lines(path: Path) -> Path:
    lines = path.read_text().splitlines()
    return write(path, "\n".join(" ".join(line.split()[: len(line.split()) // 2]) for line in lines) + "\n")


# Each row: (the dataset root, random bad files) → (flags to change; phrases the message holds).
CASES = {
    "root missing": lambda root, bad: ({"--root": bad.missing}, [bad.missing]),
    "root empty": lambda root, bad: ({"--root": bad.empty_folder}, [bad.empty_folder]),
    "root is a file": lambda root, bad: ({"--root": bad.random_bytes}, [bad.random_bytes]),
    "dataset unknown": lambda root, bad: ({"--dataset": "ubfc-fizz"}, ["ubfc-fizz", "ubfc-rppg"]),
    "ground truth missing": lambda root, bad: (
        {}, [(subject(root) / "ground_truth.txt").unlink() or subject(root)]),
    "ground truth random bytes": lambda root, bad: (
        {}, [write(subject(root) / "ground_truth.txt", bad.random_bytes.read_bytes())]),
    "ground truth not numeric": lambda root, bad: (
        {}, [write(subject(root) / "ground_truth.txt", "ppg,hr\n0.1,60\n")]),
    "ground truth of the wrong length": lambda root, bad: (
        {}, [halve_gt_lines(subject(root) / "ground_truth.txt")]),
    "video empty": lambda root, bad: ({}, [write(subject(root) / "vid.avi", b"")]),
    "video random bytes": lambda root, bad: (
        {}, [write(subject(root) / "vid.avi", bad.random_bytes.read_bytes())]),
    "text file as the video": lambda root, bad: ({}, [write(subject(root) / "vid.avi", "not a video\n")]),
    "video truncated": lambda root, bad: ({}, [truncate(subject(root) / "vid.avi")]),
}


@pytest.mark.parametrize("case", CASES)
def test_datasets_check_refuses(case, tmp_path, synthetic_root, bad_files: BadFiles):
    root = tmp_path / "data"
    for name in ("subject1", "subject2"):
        shutil.copytree(synthetic_root / name, root / name)
    changes, phrases = CASES[case](root, bad_files)
    flags = {"--dataset": "ubfc-rppg", "--root": root} | changes
    before = snapshot(root)
    args = ["datasets", "check", *(str(x) for flag, value in flags.items() for x in (flag, value))]
    assert_refused(CliRunner().invoke(app, args), 2, *phrases)
    assert_kept(before)
