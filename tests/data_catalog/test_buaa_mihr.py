import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import FPS, pulse, write_buaa_video


def test_layout_ids_lux_and_hr(tmp_path):
    write_buaa_video(tmp_path, 10, "1.0", "APH", num_frames=30)
    write_buaa_video(tmp_path, 2, "100.0", "GDB", num_frames=30, pulse_bpm=80)
    write_buaa_video(tmp_path, 2, "6.3", "GDB", num_frames=30)
    records = scan("buaa-mihr", tmp_path)
    assert [r.video_id for r in records] == ["buaa-mihr/sub02/lux6.3_GDB", "buaa-mihr/sub02/lux100.0_GDB",
                                             "buaa-mihr/sub10/lux1.0_APH"]
    assert [r.metadata["lux"] for r in records] == [6.3, 100.0, 1.0]
    assert records[1].hr_bpm == 80.0 and records[0].fps == FPS
    assert len(list(records[0].frames())) == 30
    # a 60 Hz wave spanning the video lands on the frame times
    np.testing.assert_allclose(records[0].ppg(), pulse(np.arange(30) / FPS), atol=1e-6)


def test_missing_wave_is_named(tmp_path):
    folder = write_buaa_video(tmp_path, 1, "1.0", "APH", num_frames=5)
    (folder / "lux1.0_APH_wave.csv").unlink()
    with pytest.raises(DatasetError, match="lux1.0_APH_wave.csv"):
        scan("buaa-mihr", tmp_path)
