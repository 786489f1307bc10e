import numpy as np
import pytest
import scipy.io

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import (FPS, HEIGHT, WIDTH, frame_rgb, pulse, write_matlab_v73,
                                                write_scamps_video)


@pytest.mark.parametrize("level", ["", "ProcessedData"])
def test_v73_files_stream_frames_and_ppg(tmp_path, level):
    for index in (12, 2):
        write_scamps_video(tmp_path / level, index, num_frames=40)
    records = scan("scamps", tmp_path)
    assert [r.video_id for r in records] == ["scamps/P000002/video", "scamps/P000012/video"]
    first = records[0]
    assert (first.fps, first.num_frames) == (FPS, 40)
    frames = list(first.frames())  # 40 frames: more than one HDF5 read
    assert len(frames) == 40 and frames[0].shape == (HEIGHT, WIDTH, 3) and frames[0].dtype == np.uint8
    assert np.array_equal(frames[33], frame_rgb(33))
    np.testing.assert_allclose(first.ppg(), pulse(np.arange(40) / FPS), atol=1e-6)


def test_the_file_is_a_matlab_v73_file(tmp_path):
    path = write_scamps_video(tmp_path, 1, num_frames=2)
    assert path.read_bytes()[:10] == b"MATLAB 7.3"
    import h5py

    with h5py.File(path, "r") as handle:  # MATLAB's reversed axes
        assert handle["Xsub"].shape == (3, WIDTH, HEIGHT, 2) and handle["Xsub"].attrs["MATLAB_class"] == b"double"


def test_a_v5_mat_file_is_refused_as_not_v73(tmp_path):
    scipy.io.savemat(tmp_path / "P000001.mat", {"Xsub": np.zeros((2, 4, 4, 3)), "d_ppg": np.zeros(2)})
    with pytest.raises(DatasetError, match=r"P000001.mat: not a MATLAB v7.3 \(HDF5\) file"):
        scan("scamps", tmp_path)


@pytest.mark.parametrize("arrays, message", [
    ({"Xsub": np.zeros((2, 4, 4, 3))}, "no d_ppg"),
    ({"Xsub": np.zeros((2, 4, 4)), "d_ppg": np.zeros((2, 1))}, r"Xsub has HDF5 shape \(4, 4, 2\)"),
])
def test_missing_keys_and_wrong_shapes_are_named(tmp_path, arrays, message):
    write_matlab_v73(tmp_path / "P000001.mat", arrays)
    with pytest.raises(DatasetError, match=f"P000001.mat: {message}"):
        scan("scamps", tmp_path)


def test_ppg_of_another_length_is_refused(tmp_path):
    video = np.zeros((40, 4, 4, 3))
    write_matlab_v73(tmp_path / "P000001.mat", {"Xsub": video, "d_ppg": np.zeros((20, 1))})
    with pytest.raises(DatasetError, match=r"P000001.mat.*20 samples.*40 frames"):
        scan("scamps", tmp_path)[0].ppg()
