import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.errors import DatasetError
from tests.data_catalog.dataset_writers import pulse, write_avi, write_cohface_session

FPS = 20.0


@pytest.mark.parametrize("with_time", [True, False])
def test_sessions_with_light_labels_and_the_256_hz_pulse_on_the_frames(tmp_path, with_time):
    for subject, session in ((11, 0), (2, 3), (2, 0)):
        write_cohface_session(tmp_path, subject, session, num_frames=40, with_time=with_time)
    records = scan("cohface", tmp_path)
    assert [r.video_id for r in records] == ["cohface/2/0", "cohface/2/3", "cohface/11/0"]
    assert [r.metadata["light"] for r in records] == ["studio", "natural", "studio"]
    first = records[0]
    assert (first.fps, first.num_frames, len(list(first.frames()))) == (FPS, 40, 40)
    np.testing.assert_allclose(first.ppg(), pulse(np.arange(40) / FPS), atol=1e-3)


def test_hdf5_without_pulse_or_not_hdf5_is_refused_naming_the_file(tmp_path):
    import h5py

    folder = write_cohface_session(tmp_path, 1, 0, num_frames=20)
    with h5py.File(folder / "data.hdf5", "w") as handle:
        handle["respiration"] = np.zeros(10)
    with pytest.raises(DatasetError, match="data.hdf5: no `pulse` dataset.*respiration"):
        scan("cohface", tmp_path)[0].ppg()
    (folder / "data.hdf5").write_text("pulse,time\n")
    with pytest.raises(DatasetError, match="data.hdf5: not an HDF5 file"):
        scan("cohface", tmp_path)[0].ppg()


def test_a_pulse_shorter_than_the_video_is_refused(tmp_path):
    import h5py

    folder = write_cohface_session(tmp_path, 1, 0, num_frames=40)
    with h5py.File(folder / "data.hdf5", "w") as handle:
        handle["pulse"] = np.zeros(256)  # 1 s for a 2 s video
    with pytest.raises(DatasetError, match=r"data.hdf5.*256 samples.*40 frames"):
        scan("cohface", tmp_path)[0].ppg()


def test_video_without_hdf5_is_named(tmp_path):
    write_avi(tmp_path / "4" / "1" / "data.avi", 5, FPS)
    with pytest.raises(DatasetError, match="4/1: data.avi has no data.hdf5"):
        scan("cohface", tmp_path)
