"""The rendered datasets read back (physllm/data_catalog/synthetic.py): records with their
scenario labels; a folder without its metadata.json refused."""

import json

import pytest

from physllm.data_catalog.synthetic import scan
from physllm.errors import DatasetError
from physllm.render.synthetic import plan_scenarios
from tests.fixtures.synthetic_data import SYNTHETIC_FIXTURE_CONFIG


def test_scan_reads_records_with_scenario_labels(synthetic_root):
    records = scan(synthetic_root)
    assert [record.video_id for record in records] == \
        [f"synthetic/subject{i + 1}/vid" for i in range(SYNTHETIC_FIXTURE_CONFIG.num_subjects)]
    scenarios = plan_scenarios(SYNTHETIC_FIXTURE_CONFIG)
    for record, scenario in zip(records, scenarios):
        assert record.metadata["difficulty"] == scenario.difficulty
        assert record.metadata["skin_tone"] == scenario.skin_tone and record.metadata["light"] == scenario.light
        assert record.fps == pytest.approx(SYNTHETIC_FIXTURE_CONFIG.fps)
        assert record.ppg().shape == (record.num_frames,)
        assert record.hr_bpm == pytest.approx(record.metadata["mean_hr_bpm"], abs=0.01)
    first = next(records[0].frames())
    assert first.shape == (SYNTHETIC_FIXTURE_CONFIG.height, SYNTHETIC_FIXTURE_CONFIG.width, 3)


def test_scan_refuses_a_folder_without_metadata(synthetic_root, tmp_path):
    (tmp_path / "subject1").mkdir()
    for name in ("vid.avi", "ground_truth.txt"):
        (tmp_path / "subject1" / name).write_bytes((synthetic_root / "subject1" / name).read_bytes())
    with pytest.raises(DatasetError, match="metadata.json"):
        scan(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"subjects": {"subject2": {}}}))
    with pytest.raises(DatasetError, match="subject1"):
        scan(tmp_path)
