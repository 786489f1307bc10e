import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError, VideoError
from tests.data_catalog.dataset_writers import frame_rgb, pulse, write_bp4d_trial

FPS = 25.0


def test_trials_from_physiology_with_zip_frames_and_the_wave(tmp_path):
    write_bp4d_trial(tmp_path, "M003", "T1", num_frames=12)
    write_bp4d_trial(tmp_path, "F001", "T10", num_frames=12)
    write_bp4d_trial(tmp_path, "F001", "T2", num_frames=12)
    records = scan("bp4d", tmp_path)
    assert [r.video_id for r in records] == ["bp4d-plus/F001/T2", "bp4d-plus/F001/T10", "bp4d-plus/M003/T1"]
    first = records[0]
    assert (first.fps, first.num_frames, first.hr_bpm) == (FPS, 12, 71.0)
    assert first.metadata == {"task": "T2", "sex": "F"}
    frames = list(first.frames())
    assert len(frames) == 12 and np.abs(frames[11].astype(int) - frame_rgb(11)).max() <= 3  # JPEG
    np.testing.assert_allclose(first.ppg(), 80 + 20 * pulse(np.arange(12) / FPS), atol=1e-3)


def test_a_trial_without_frames_stays_listed_and_fails_with_its_reason(tmp_path):
    write_bp4d_trial(tmp_path, "F001", "T1", num_frames=4)
    (tmp_path / "Physiology" / "F042" / "T11").mkdir(parents=True)  # the toolbox's listed-but-absent trial
    (tmp_path / "Physiology" / "F042" / "T11" / "BP_mmHg.txt").write_text("1\n2\n")
    records = scan("bp4d-plus", tmp_path)
    assert [r.video_id for r in records] == ["bp4d-plus/F001/T1", "bp4d-plus/F042/T11"]
    with pytest.raises(VideoError, match="F042.zip: no such file"):
        records[1].frames()


def test_missing_physiology_or_wave_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no Physiology/ folder"):
        scan("bp4d-plus", tmp_path)
    trial = write_bp4d_trial(tmp_path, "F001", "T1", num_frames=4)
    (trial / "BP_mmHg.txt").unlink()
    with pytest.raises(DatasetError, match="T1: no BP_mmHg.txt"):
        scan("bp4d-plus", tmp_path)
