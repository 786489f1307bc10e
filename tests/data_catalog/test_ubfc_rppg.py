import pickle

import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import FPS, pulse, write_avi, write_ubfc_subject


@pytest.mark.parametrize("level", ["", "RawData", "DATASET_2"])
def test_subjects_sorted_numerically_with_frames_fps_and_hr(tmp_path, level):
    for n in (10, 2, 1):
        write_ubfc_subject(tmp_path / level, f"subject{n}", num_frames=20, hr=60.0 + n)
    records = scan("ubfc", tmp_path)
    assert [r.video_id for r in records] == ["ubfc-rppg/subject1/vid", "ubfc-rppg/subject2/vid", "ubfc-rppg/subject10/vid"]
    first = records[0]
    assert (first.fps, first.num_frames, first.hr_bpm) == (FPS, 20, 61.0)
    frames = list(first.frames())
    assert len(frames) == 20 and frames[3].shape == (24, 32, 3)
    np.testing.assert_allclose(first.ppg(), pulse(np.arange(20) / FPS), atol=1e-6)
    shipped = pickle.loads(pickle.dumps(first))  # as Ray sends it to a worker
    assert shipped.video_id == first.video_id and len(list(shipped.frames())) == 20


def test_ppg_is_resampled_by_its_time_stamps(tmp_path):
    # 60 Hz ground truth for a 30 fps video: the frame-time values are every other sample.
    write_ubfc_subject(tmp_path, "subject1", num_frames=40, gt_rate=60.0)
    ppg = scan("ubfc-rppg", tmp_path)[0].ppg()
    assert ppg.dtype == np.float32 and ppg.shape == (40,)
    np.testing.assert_allclose(ppg, pulse(np.arange(40) / FPS), atol=1e-6)


def test_dataset_1_gtdump_xmp(tmp_path):
    folder = tmp_path / "DATASET_1" / "5-gt"
    write_avi(folder / "vid.avi", 30)
    times_ms = np.arange(60) * 1000 / 60  # the oximeter at 60 Hz
    rows = [f"{t:.3f},{75},{98},{p:.8f}" for t, p in zip(times_ms, pulse(times_ms / 1000))]
    (folder / "gtdump.xmp").write_text("\n".join(rows) + "\n")
    (record,) = scan("ubfc-rppg", tmp_path / "DATASET_1")
    assert (record.subject, record.hr_bpm) == ("5-gt", 75.0)
    np.testing.assert_allclose(record.ppg(), pulse(np.arange(30) / FPS), atol=1e-4)  # ms written to 3 decimals


def test_ground_truth_longer_than_the_video_is_refused(tmp_path):
    folder = write_ubfc_subject(tmp_path, "subject1", num_frames=40)
    write_avi(folder / "vid.avi", 20)  # now 20 frames for 40 per-frame samples (0.67 s too long)
    (record,) = scan("ubfc-rppg", tmp_path)
    with pytest.raises(DatasetError, match=r"ground_truth.txt.*40 samples.*20 frames"):
        record.ppg()


def test_ground_truth_without_time_stamps_is_taken_as_one_sample_per_frame(tmp_path):
    folder = write_ubfc_subject(tmp_path, "subject1", num_frames=30)
    first_line = (folder / "ground_truth.txt").read_text().splitlines()[0]
    (folder / "ground_truth.txt").write_text(first_line + "\n")
    (record,) = scan("ubfc-rppg", tmp_path)
    assert record.hr_bpm is None
    np.testing.assert_allclose(record.ppg(), pulse(np.arange(30) / FPS), atol=1e-6)


def test_malformed_ground_truth_raises_from_ppg_naming_the_file(tmp_path):
    folder = write_ubfc_subject(tmp_path, "subject1", num_frames=10)
    (folder / "ground_truth.txt").write_text("0.1 0.2 oops\n")
    (record,) = scan("ubfc-rppg", tmp_path)
    with pytest.raises(DatasetError, match="ground_truth.txt.*not a UBFC-rPPG ground truth"):
        record.ppg()


def test_subject_without_ground_truth_is_named(tmp_path):
    write_avi(tmp_path / "subject3" / "vid.avi", 5)
    with pytest.raises(DatasetError, match="subject3.*ground_truth.txt"):
        scan("ubfc-rppg", tmp_path)
