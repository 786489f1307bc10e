"""`physllm predict` over malformed inputs: each refused with exit 2 and a line naming the path
or option, no traceback, no code run from a pickle, and files already in --out kept. The bad
videos run as one batch with a good one (`video_batch`): each gets its own error line and the
good video's prediction is still written."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from physllm.cli import app
from physllm.render.synthetic import SynthConfig, write_synthetic_dataset
from tests.fixtures.bad_inputs import (BadFiles, TinyRun, assert_kept, assert_refused, snapshot,
                                       truncate)


@dataclass
class Inputs:
    good: Path  # a 10 s synthetic video whose prediction must still be written
    checkpoint: Path | None  # a copy of the tiny checkpoint, free to damage (option rows)
    out: Path  # holds an earlier prediction, which a refused command must keep
    bad: BadFiles
    tmp: Path


def copy_of(i: Inputs, name: str) -> Path:
    return Path(shutil.copyfile(i.good, i.tmp / name))


def text_named_video(i: Inputs) -> Path:
    path = i.tmp / "notes.mp4"
    path.write_text("these are my notes, not a video\n")
    return path


def still_image_named_video(i: Inputs) -> Path:
    path = i.tmp / "photo.avi"
    ok, png = cv2.imencode(".png", np.full((120, 160, 3), 128, np.uint8))
    path.write_bytes(png.tobytes())
    return path


def folder_of_text_files(i: Inputs) -> Path:
    folder = i.tmp / "frames"
    folder.mkdir()
    for k in range(3):
        (folder / f"{k:04d}.png").write_text("not an image")
    return folder


def replace_file(target: Path, source: Path) -> Path:
    shutil.copyfile(source, target)
    return target


# Video rows: inputs → (the bad source, phrases its error line holds).
VIDEO_CASES = {
    "missing file": lambda i: (i.bad.missing, [i.bad.missing]),
    "empty file": lambda i: (i.bad.empty_file, [i.bad.empty_file]),
    "truncated video": lambda i: (truncate(copy_of(i, "truncated.avi")), [i.tmp / "truncated.avi"]),
    "random bytes as a video": lambda i: (i.bad.random_bytes, [i.bad.random_bytes]),
    "text file named .mp4": lambda i: (text_named_video(i), [i.tmp / "notes.mp4"]),
    "still image named .avi": lambda i: (still_image_named_video(i), [i.tmp / "photo.avi"]),
    "empty frame folder": lambda i: (i.bad.empty_folder, [i.bad.empty_folder]),
    "frame folder of text files": lambda i: (folder_of_text_files(i), [i.tmp / "frames"]),
}

# Option rows: inputs → (flags, phrases); the whole command is refused before any video runs.
OPTION_CASES = {
    "checkpoint missing": lambda i: (["--checkpoint", i.bad.missing], [i.bad.missing]),
    "checkpoint folder empty": lambda i: (["--checkpoint", i.bad.empty_folder], [i.bad.empty_folder]),
    "checkpoint config random bytes": lambda i: (
        ["--checkpoint", i.checkpoint], [replace_file(i.checkpoint / "config.json", i.bad.random_bytes)]),
    "checkpoint training record random bytes": lambda i: (
        ["--checkpoint", i.checkpoint], [replace_file(i.checkpoint / "training.json", i.bad.random_bytes)]),
    "backbone random bytes": lambda i: (["--checkpoint", i.checkpoint, "--backbone", i.bad.random_bytes],
                                        [i.bad.random_bytes, "not the backbone"]),
    "backbone malicious pickle": lambda i: (
        ["--checkpoint", i.checkpoint, "--backbone", i.bad.malicious_pickle],
        [i.bad.malicious_pickle, "not the backbone"]),
    "checkpoint and baseline both": lambda i: (["--checkpoint", i.checkpoint, "--baseline", "pos"],
                                               ["--checkpoint", "--baseline"]),
    "baseline unknown": lambda i: (["--baseline", "ica"], ["ica"]),
    "device unknown": lambda i: (["--checkpoint", i.checkpoint, "--device", "tpu9"], ["tpu9"]),
}


@pytest.fixture(scope="module")
def good_video(tmp_path_factory) -> Path:
    """13 s: three 128-frame clips, enough for one 10 s window."""
    root = tmp_path_factory.mktemp("fuzz_predict")
    write_synthetic_dataset(root, SynthConfig(num_subjects=1, seconds=13.0, width=160, height=120,
                                              seed=3, easy_fraction=1.0))
    return root / "subject1" / "vid.avi"


@pytest.fixture
def inputs(tmp_path, good_video, tiny_run: TinyRun, bad_files: BadFiles) -> Inputs:
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.json").write_text('{"an": "earlier prediction"}')
    return Inputs(good_video,
                  Path(shutil.copytree(tiny_run.checkpoint, tmp_path / "checkpoint")), out,
                  bad_files, tmp_path)


def predict(*args) -> object:
    return CliRunner().invoke(app, ["predict", *(str(a) for a in args)])


@pytest.fixture(scope="module")
def video_batch(tmp_path_factory, good_video, bad_files: BadFiles) -> tuple[list[str], dict, Path]:
    """One `predict` of every bad video then the good one: its error lines, the rows' bad
    sources and phrases, and the --out folder."""
    tmp = tmp_path_factory.mktemp("fuzz_predict_batch")
    out = tmp / "out"
    out.mkdir()
    (out / "earlier.json").write_text('{"an": "earlier prediction"}')
    inputs = Inputs(good_video, None, out, bad_files, tmp)
    rows = {case: make(inputs) for case, make in VIDEO_CASES.items()}
    before = snapshot(out)
    result = predict(*(bad for bad, _ in rows.values()), good_video, "--baseline", "pos", "--out", out)
    assert_refused(result, 2)
    assert_kept(before)
    errors = [" ".join(line.split()) for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == len(rows), errors  # one line per bad video
    return errors, rows, out


@pytest.mark.parametrize("case", VIDEO_CASES)
def test_predict_reports_a_bad_video_and_still_runs_the_good_one(case, video_batch):
    errors, rows, out = video_batch
    bad, phrases = rows[case]
    [line] = [e for e in errors if e.startswith(f"error: {bad}:")]
    for phrase in phrases:
        assert str(phrase) in line, line
    assert (out / "vid.json").is_file()  # the good video of the batch still ran


@pytest.mark.parametrize("case", OPTION_CASES)
def test_predict_refuses(case, inputs):
    flags, phrases = OPTION_CASES[case](inputs)
    before = snapshot(inputs.out, inputs.checkpoint)
    result = predict(inputs.good, *flags, "--out", inputs.out)
    assert_refused(result, 2, *phrases)
    assert not (inputs.out / "vid.json").exists()
    assert_kept(before)
    assert not inputs.bad.pickle_ran()
