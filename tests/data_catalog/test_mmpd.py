import numpy as np
import pytest
import scipy.io

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import FPS, frame_rgb, pulse, write_mmpd_video


@pytest.mark.parametrize("level", ["", "mat_dataset"])
def test_videos_keep_their_index_and_labels(tmp_path, level):
    write_mmpd_video(tmp_path / level, 1, 0, num_frames=8)
    write_mmpd_video(tmp_path / level, 1, 1, num_frames=8, light="Incandescent", motion="Talking",
                     skin_color=np.array([[5]]), gender="female")
    write_mmpd_video(tmp_path / level, 10, 0, num_frames=8)
    records = scan("mmpd", tmp_path)
    assert [r.video_id for r in records] == ["mmpd/subject1/p1_0", "mmpd/subject1/p1_1", "mmpd/subject10/p10_0"]
    assert records[1].metadata == {"light": "Incandescent", "motion": "Talking", "exercise": "False",
                                   "gender": "female", "glasser": "False", "hair_cover": "False",
                                   "makeup": "False", "skin_color": 5}
    assert (records[0].fps, records[0].num_frames, records[0].hr_bpm) == (FPS, 8, None)


def test_frames_are_scaled_to_uint8_and_ppg_is_per_frame(tmp_path):
    write_mmpd_video(tmp_path, 3, 2, num_frames=6)
    (record,) = scan("mmpd", tmp_path)
    frames = list(record.frames())
    assert len(frames) == 6 and frames[0].dtype == np.uint8
    np.testing.assert_array_equal(frames[4], frame_rgb(4))  # x/255*255 rounds back exactly
    np.testing.assert_allclose(record.ppg(), pulse(np.arange(6) / FPS), atol=1e-6)


def test_scan_reads_shapes_not_the_video(tmp_path, monkeypatch):
    write_mmpd_video(tmp_path, 1, 0, num_frames=5)
    loaded = []
    original = scipy.io.loadmat
    monkeypatch.setattr(scipy.io, "loadmat", lambda path, **kw: loaded.append(kw["variable_names"]) or original(path, **kw))
    scan("mmpd", tmp_path)
    assert all("video" not in names for names in loaded)


def test_gt_of_another_length_and_missing_keys_are_refused(tmp_path):
    path = write_mmpd_video(tmp_path, 1, 0, num_frames=30, GT_ppg=pulse(np.arange(60) / FPS)[None, :])
    (record,) = scan("mmpd", tmp_path)
    with pytest.raises(DatasetError, match=r"p1_0.mat.*60 samples.*30 frames"):
        record.ppg()
    scipy.io.savemat(path, {"video": np.zeros((3, 4, 4, 3))})
    with pytest.raises(DatasetError, match=r"p1_0.mat: no GT_ppg"):
        scan("mmpd", tmp_path)
    path.write_bytes(b"not a mat file at all")
    with pytest.raises(DatasetError, match=r"p1_0.mat: not a MATLAB"):
        scan("mmpd", tmp_path)
