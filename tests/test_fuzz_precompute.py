"""`physllm precompute` over malformed inputs.

Whole-run mistakes (a missing root, an unknown dataset, a backbone that is not PhysNet weights,
a malicious pickle) are refused before any work with exit 2, a line naming the path or option,
no traceback, and the caches already under --cache-root kept. A bad video among good ones fails
alone: one run over a dataset holding one of each (`batch`) records each with a reason naming
its file, and the good video is still done.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from physllm.cli import app
from physllm.shards.cache import find_caches, load_cache
from tests.fixtures.bad_inputs import (BadFiles, TinyRun, assert_kept, assert_refused, copy_cache,
                                       snapshot, truncate)

GOOD = "subject1"


def ubfc_copy(synthetic_root: Path, out: Path, subjects: list[str]) -> Path:
    """`subjects` (named as wanted) each a copy of the synthetic data's subject1, UBFC-rPPG layout."""
    for subject in subjects:
        shutil.copytree(synthetic_root / GOOD, out / subject)
    return out


def gt_of(root: Path, subject: str) -> Path:
    return root / subject / "ground_truth.txt"


def halve_gt_lines(path: Path) -> Path:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(" ".join(line.split()[: len(line.split()) // 2]) for line in lines) + "\n")
    return path


# ---------------------------------------------------------------- the whole run refused


@dataclass
class Inputs:
    root: Path  # a one-video dataset, free to damage
    cache_root: Path  # holds an earlier cache, which a refused command must keep
    bad: BadFiles


OPTION_CASES = {
    "root missing": lambda i: ({"--root": i.bad.missing}, [i.bad.missing]),
    "root empty": lambda i: ({"--root": i.bad.empty_folder}, [i.bad.empty_folder]),
    "root is a file": lambda i: ({"--root": i.bad.random_bytes}, [i.bad.random_bytes]),
    "dataset unknown": lambda i: ({"--dataset": "ufbc-rppg"}, ["ufbc-rppg", "ubfc-rppg"]),
    "ground truth missing": lambda i: ({}, [_unlink(gt_of(i.root, GOOD)).parent]),
    "backbone missing": lambda i: ({"--backbone": i.bad.missing}, [i.bad.missing]),
    "backbone empty file": lambda i: ({"--backbone": i.bad.empty_file}, [i.bad.empty_file]),
    "backbone random bytes": lambda i: ({"--backbone": i.bad.random_bytes}, [i.bad.random_bytes]),
    "backbone malicious pickle": lambda i: ({"--backbone": i.bad.malicious_pickle},
                                            [i.bad.malicious_pickle]),
    "describer unknown": lambda i: ({"--describer": "gpt"}, ["gpt"]),
    "batch size 0": lambda i: ({"--batch-size": 0}, ["--batch-size"]),
    "cache root is a file": lambda i: ({"--cache-root": i.bad.random_bytes}, [i.bad.random_bytes]),
}


def _unlink(path: Path) -> Path:
    path.unlink()
    return path


@pytest.fixture
def inputs(tmp_path, synthetic_root, tiny_run: TinyRun, bad_files: BadFiles) -> Inputs:
    cache_root = tmp_path / "caches"
    copy_cache(tiny_run.cache, cache_root)
    return Inputs(ubfc_copy(synthetic_root, tmp_path / "data", [GOOD]), cache_root, bad_files)


@pytest.mark.parametrize("case", OPTION_CASES)
def test_precompute_refuses(case, inputs, random_physnet):
    changes, phrases = OPTION_CASES[case](inputs)
    flags = {"--dataset": "ubfc-rppg", "--root": inputs.root, "--cache-root": inputs.cache_root,
             "--backbone": random_physnet} | changes
    before = snapshot(inputs.cache_root)
    args = ["precompute", *(str(x) for flag, value in flags.items() for x in (flag, value))]
    assert_refused(CliRunner().invoke(app, args), 2, *phrases)
    assert_kept(before)
    assert not inputs.bad.pickle_ran()


# ---------------------------------------------------------------- one bad video among good ones


def empty_video(root: Path, subject: str) -> Path:
    (root / subject / "vid.avi").write_bytes(b"")
    return root / subject / "vid.avi"


def text_as_video(root: Path, subject: str) -> Path:
    (root / subject / "vid.avi").write_text("not a video\n")
    return root / subject / "vid.avi"


def words_in_gt(root: Path, subject: str) -> Path:
    gt = gt_of(root, subject)
    gt.write_text(gt.read_text().replace(" ", " x ", 3))
    return gt


# subject → (its damage: root → the damaged file; the phrases its failure reason holds)
VIDEO_CASES = {
    "subject2": (lambda root: truncate(root / "subject2" / "vid.avi"), ["VideoError"]),
    "subject3": (lambda root: halve_gt_lines(gt_of(root, "subject3")), ["DatasetError"]),
    "subject4": (lambda root: empty_video(root, "subject4"), ["VideoError"]),
    "subject5": (lambda root: text_as_video(root, "subject5"), ["VideoError"]),
    "subject6": (lambda root: words_in_gt(root, "subject6"), ["DatasetError"]),
}
VIDEO_CASE_NAMES = {"subject2": "truncated video", "subject3": "ground truth of the wrong length",
                    "subject4": "empty video", "subject5": "text file as the video",
                    "subject6": "ground truth not numeric"}


@dataclass
class Batch:
    output: str
    exit_code: int
    root: Path
    cache: Path
    damaged: dict[str, Path]


@pytest.fixture(scope="module")
def batch(ray_local, synthetic_root, random_physnet, tmp_path_factory) -> Batch:
    """One precompute over the good subject and one subject per damage."""
    tmp = tmp_path_factory.mktemp("fuzz_precompute")
    root = ubfc_copy(synthetic_root, tmp / "data", [GOOD, *VIDEO_CASES])
    damaged = {subject: damage(root) for subject, (damage, _) in VIDEO_CASES.items()}
    result = CliRunner().invoke(app, ["precompute", "--dataset", "ubfc-rppg", "--root", str(root),
                                      "--cache-root", str(tmp / "cache"),
                                      "--backbone", str(random_physnet)])
    assert_refused(result, 0)  # no traceback; a bad video is not the run's failure
    [cache] = find_caches(tmp / "cache")
    return Batch(" ".join(result.output.split()), result.exit_code, root, cache, damaged)


@pytest.mark.parametrize("subject", VIDEO_CASES, ids=VIDEO_CASE_NAMES.get)
def test_precompute_records_a_bad_video_and_does_the_others(subject, batch):
    manifest = load_cache(batch.cache).manifest
    assert f"ubfc-rppg/{GOOD}/vid" in manifest.done()  # the good video of the batch is done
    reason = manifest.failed()[f"ubfc-rppg/{subject}/vid"]["reason"]
    for phrase in (batch.damaged[subject], *VIDEO_CASES[subject][1]):
        assert str(phrase) in reason, reason
    assert f"warning: ubfc-rppg/{subject}/vid skipped" in batch.output
