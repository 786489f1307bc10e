import pickle

import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import pulse, write_avi, write_csv_column, write_ubfc_phys_video

FPS = 35.0


@pytest.mark.parametrize("level", ["", "RawData"])
def test_tasks_sorted_with_labels_and_the_64_hz_bvp_on_the_frames(tmp_path, level):
    for subject, task in ((10, 1), (3, 2), (3, 1)):
        write_ubfc_phys_video(tmp_path / level, subject, task, num_frames=70)
    (tmp_path / level / "s3" / "eda_s3_T1.csv").write_text("1\n2\n")  # the dataset's other files are ignored
    records = scan("ubfc-phys", tmp_path)
    assert [r.video_id for r in records] == ["ubfc-phys/s3/T1", "ubfc-phys/s3/T2", "ubfc-phys/s10/T1"]
    first = records[0]
    assert (first.fps, first.num_frames) == (FPS, 70)
    assert first.metadata == {"task": "T1", "toolbox_excluded": "yes"}  # s3_T1 is on the toolbox's list
    assert records[1].metadata["toolbox_excluded"] == "no"
    assert len(list(first.frames())) == 70
    np.testing.assert_allclose(first.ppg(), pulse(np.arange(70) / FPS), atol=2e-3)  # 64 Hz → 35 fps, linear
    assert pickle.loads(pickle.dumps(first)).video_id == first.video_id


def test_bvp_that_is_not_64_hz_long_is_refused(tmp_path):
    folder = write_ubfc_phys_video(tmp_path, 1, 1, num_frames=70)
    write_csv_column(folder / "bvp_s1_T1.csv", pulse(np.arange(70) / FPS))  # one per frame: 0.9 s short
    with pytest.raises(DatasetError, match=r"bvp_s1_T1.csv.*70 samples.*70 frames"):
        scan("ubfc-phys", tmp_path)[0].ppg()


def test_malformed_bvp_and_missing_bvp_name_the_file(tmp_path):
    folder = write_ubfc_phys_video(tmp_path, 1, 1, num_frames=35)
    (folder / "bvp_s1_T1.csv").write_text("0.1\nnot a number\n")
    with pytest.raises(DatasetError, match="bvp_s1_T1.csv: cannot read column 1.*BVP at 64 Hz"):
        scan("ubfc-phys", tmp_path)[0].ppg()
    write_avi(tmp_path / "s2" / "vid_s2_T3.avi", 5, FPS)
    with pytest.raises(DatasetError, match="vid_s2_T3.avi: no bvp_s2_T3.csv"):
        scan("ubfc-phys", tmp_path)


def test_an_empty_root_says_what_was_expected(tmp_path):
    with pytest.raises(DatasetError, match=r"no ubfc-phys videos found \(expected s\{N\}/vid_s\{N\}_T"):
        scan("ubfc-phys", tmp_path)
