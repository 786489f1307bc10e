"""The `datasets` commands through the real CLI: listing, checking, and every user mistake → exit 2."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from physllm.cli import app
from tests.data_catalog.dataset_writers import write_mmpd_video, write_ubfc_subject

runner = CliRunner()


def check(dataset, root):
    return runner.invoke(app, ["datasets", "check", "--dataset", dataset, "--root", str(root)])


def one_line(result) -> str:
    """The output with rich's box lines removed and wrapped lines joined."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", result.output).split())


def test_list_shows_every_dataset():
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0
    for name in ("ubfc-rppg", "pure", "mmpd", "buaa-mihr", "scamps", "ubfc-phys", "ibvp", "cohface",
                 "bp4d-plus", "vipl-hr", "synthetic"):
        assert name in result.output


def test_check_prints_what_the_folder_holds(tmp_path):
    for n in (1, 2):
        write_ubfc_subject(tmp_path, f"subject{n}", num_frames=60)
    result = check("ubfc-rppg", tmp_path)
    assert result.exit_code == 0, result.output
    text = one_line(result)
    assert "subjects 2" in text and "sessions (videos) 2" in text
    assert "minutes of video 0.1" in text and "fps 30" in text and "24×32" in text


def test_check_lists_mmpd_labels(tmp_path):
    write_mmpd_video(tmp_path, 1, 0, num_frames=4)
    write_mmpd_video(tmp_path, 1, 1, num_frames=4, skin_color=np.array([[5]]))
    text = one_line(check("mmpd", tmp_path))
    assert "label: skin_color 3 (1), 5 (1)" in text and "label: light LED-low (2)" in text


@pytest.mark.parametrize("case", ["missing root", "empty root", "garbage video", "long ground truth",
                                  "bad ground truth", "unknown dataset"])
def test_user_mistakes_exit_2_naming_the_path(tmp_path, case):
    dataset, root, expected = "ubfc-rppg", tmp_path, str(tmp_path)
    if case == "missing root":
        root = expected = tmp_path / "nowhere"
    elif case == "garbage video":
        (tmp_path / "subject1").mkdir()
        (tmp_path / "subject1" / "vid.avi").write_bytes(np.random.default_rng(1).bytes(2048))
        (tmp_path / "subject1" / "ground_truth.txt").write_text("0 1 2\n")
        expected = "vid.avi"
    elif case == "long ground truth":
        folder = write_ubfc_subject(tmp_path, "subject1", num_frames=40)
        (folder / "ground_truth.txt").write_text(" ".join(["0.5"] * 80) + "\n")
        expected = "ground_truth.txt"
    elif case == "bad ground truth":
        folder = write_ubfc_subject(tmp_path, "subject1", num_frames=10)
        (folder / "ground_truth.txt").write_text("ppg,hr\n1,2\n")
        expected = "ground_truth.txt"
    elif case == "unknown dataset":
        dataset, expected = "ubfc-fizz", "known datasets"
    result = check(dataset, root)
    assert result.exit_code == 2, result.output
    text = one_line(result)
    assert "error:" in text and str(expected) in text and "Traceback" not in text


def test_check_reads_the_new_layouts_and_their_labels(tmp_path):
    from tests.data_catalog.dataset_writers import write_cohface_session, write_scamps_video

    write_cohface_session(tmp_path / "cohface", 1, 0, num_frames=20)
    write_cohface_session(tmp_path / "cohface", 1, 2, num_frames=20)
    text = one_line(check("cohface", tmp_path / "cohface"))
    assert "sessions (videos) 2" in text and "label: light natural (1), studio (1)" in text
    write_scamps_video(tmp_path / "scamps", 1, num_frames=4)
    assert "24×32" in one_line(check("scamps", tmp_path / "scamps"))
    (tmp_path / "scamps" / "P000002.mat").write_text("not HDF5")
    result = check("scamps", tmp_path / "scamps")
    assert result.exit_code == 2 and "P000002.mat: not a MATLAB v7.3 (HDF5) file" in one_line(result)
