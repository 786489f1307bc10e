import json

import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import FPS, pulse, write_pure_session


@pytest.mark.parametrize("level", ["", "RawData"])
def test_sessions_ids_frames_and_hr(tmp_path, level):
    for session in ("10-01", "02-02", "02-01"):
        write_pure_session(tmp_path / level, session, num_frames=15)
    records = scan("pure", tmp_path)
    assert [r.video_id for r in records] == ["pure/02/02-01", "pure/02/02-02", "pure/10/10-01"]
    record = records[0]
    assert record.num_frames == 15 and record.hr_bpm == 66.0
    assert record.fps == pytest.approx(FPS, rel=1e-6)  # measured from the /Image stamps
    frames = list(record.frames())
    assert [int(f[0, 0, 0]) for f in frames] == [10 + 5 * i for i in range(15)]


def test_waveform_is_interpolated_at_each_image_time_stamp(tmp_path):
    # The oximeter starts 0.1 s before the camera on the shared clock: stretching by count would
    # shift the pulse by 0.1 s; interpolating at the stamps recovers it at the frame times.
    write_pure_session(tmp_path, "01-01", num_frames=30)
    ppg = scan("pure", tmp_path)[0].ppg()
    assert ppg.shape == (30,) and ppg.dtype == np.float32
    np.testing.assert_allclose(ppg, pulse(np.arange(30) / FPS), atol=2e-2)  # linear interp of a 60 Hz sine
    assert np.abs(ppg - pulse(np.arange(30) / FPS + 0.1)).max() > 0.3


def test_image_stamps_that_do_not_match_the_frames_are_refused(tmp_path):
    folder = write_pure_session(tmp_path, "01-01", num_frames=10)
    content = json.loads((folder / "01-01.json").read_text())
    content["/Image"] = content["/Image"][:7]
    (folder / "01-01.json").write_text(json.dumps(content))
    with pytest.raises(DatasetError, match=r"01-01.json: 7 /Image time stamps for 10 PNG frames"):
        scan("pure", tmp_path)


def test_json_without_full_package_is_refused(tmp_path):
    folder = write_pure_session(tmp_path, "01-01", num_frames=5)
    (folder / "01-01.json").write_text(json.dumps({"/Image": []}))
    with pytest.raises(DatasetError, match=r"01-01.json: not a PURE ground-truth JSON"):
        scan("pure", tmp_path)


def test_waveform_that_stops_early_is_refused(tmp_path):
    folder = write_pure_session(tmp_path, "01-01", num_frames=60)
    content = json.loads((folder / "01-01.json").read_text())
    content["/FullPackage"] = content["/FullPackage"][:60]  # 1 s of oximeter for 2 s of video
    (folder / "01-01.json").write_text(json.dumps(content))
    (record,) = scan("pure", tmp_path)
    with pytest.raises(DatasetError, match="expected the ground truth to span the video"):
        record.ppg()
