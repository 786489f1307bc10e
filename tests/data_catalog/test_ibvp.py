import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import FPS, frame_rgb, pulse, write_ibvp_session


def test_sessions_with_bmp_frames_bvp_and_quality_labels(tmp_path):
    write_ibvp_session(tmp_path, 12, "a", num_frames=20)
    write_ibvp_session(tmp_path, 2, "b", num_frames=20, low_quality=5)
    write_ibvp_session(tmp_path, 2, "a", num_frames=20, low_quality=2)
    records = scan("ibvp", tmp_path)
    assert [r.video_id for r in records] == ["ibvp/p02/a", "ibvp/p02/b", "ibvp/p12/a"]
    assert [r.metadata for r in records] == [{"task": "a", "ppg_quality": "good"},  # 2 of 20 ≤ 0.3: 10%
                                             {"task": "b", "ppg_quality": "low"},
                                             {"task": "a", "ppg_quality": "good"}]
    first = records[0]
    assert (first.fps, first.num_frames) == (FPS, 20)
    frames = list(first.frames())
    assert len(frames) == 20 and np.array_equal(frames[7], frame_rgb(7))  # BMP is lossless; thermal ignored
    np.testing.assert_allclose(first.ppg(), pulse(np.arange(20) / FPS), atol=1e-6)


def test_missing_frames_folder_or_bvp_is_named(tmp_path):
    folder = write_ibvp_session(tmp_path, 1, "a", num_frames=3)
    (folder / "p01_a_bvp.csv").unlink()
    with pytest.raises(DatasetError, match="p01_a: no p01_a_bvp.csv"):
        scan("ibvp", tmp_path)
    folder = write_ibvp_session(tmp_path / "other", 1, "a", num_frames=3)
    for image in (folder / "p01_a_rgb").iterdir():
        image.unlink()
    (folder / "p01_a_rgb").rmdir()
    with pytest.raises(DatasetError, match="p01_a: no p01_a_rgb/ folder"):
        scan("ibvp", tmp_path / "other")


def test_bvp_without_the_quality_column_is_refused(tmp_path):
    folder = write_ibvp_session(tmp_path, 1, "a", num_frames=3)
    (folder / "p01_a_bvp.csv").write_text("BVP\n0.1\n0.2\n0.3\n")
    with pytest.raises(DatasetError, match="p01_a_bvp.csv: cannot read column 4.*SQ2 in column 4"):
        scan("ibvp", tmp_path)
