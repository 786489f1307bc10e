import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import pulse, write_avi, write_vipl_video


@pytest.mark.parametrize("level", ["", "data"])
def test_subjects_scenarios_and_devices_with_wave_and_hr(tmp_path, level):
    write_vipl_video(tmp_path / level, 10, 1, 1, num_frames=25)
    write_vipl_video(tmp_path / level, 2, 9, 2, num_frames=30, fps=30.0)
    write_vipl_video(tmp_path / level, 2, 1, 4, num_frames=30, fps=30.0)
    records = scan("vipl", tmp_path)
    assert [r.video_id for r in records] == ["vipl-hr/p2/v1-source4", "vipl-hr/p2/v9-source2",
                                             "vipl-hr/p10/v1-source1"]
    assert records[1].metadata == {"scenario": "v9", "source": "source2"}
    last = records[2]
    assert (last.fps, last.num_frames, last.hr_bpm) == (25.0, 25, 73.0)  # gt_HR's zero reading left out
    assert len(list(last.frames())) == 25
    np.testing.assert_allclose(last.ppg(), pulse(np.arange(25) / 25.0), atol=3e-3)  # 60 Hz → 25 fps, linear


def test_frame_rate_from_time_stamps(tmp_path):
    write_vipl_video(tmp_path, 1, 1, 3, num_frames=30, fps=30.0, stamps_fps=29.0)
    (record,) = scan("vipl-hr", tmp_path)
    assert record.fps == pytest.approx(29.0, abs=0.05)
    assert record.ppg().shape == (30,)


def test_missing_or_malformed_wave_is_named(tmp_path):
    folder = write_vipl_video(tmp_path, 1, 1, 1, num_frames=10)
    (folder / "wave.csv").write_text("Wave\n1.0\nnan?\n")
    with pytest.raises(DatasetError, match="wave.csv: cannot read column 1.*a header line"):
        scan("vipl-hr", tmp_path)[0].ppg()
    write_avi(tmp_path / "p3" / "v2" / "source1" / "video.avi", 5, 25.0)
    with pytest.raises(DatasetError, match="source1: video.avi has no wave.csv"):
        scan("vipl-hr", tmp_path)
