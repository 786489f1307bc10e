import numpy as np
import pyarrow as pa
import pytest

from physllm.shards.schema import (clip_frames, feature_shapes, rows_to_table, schema_for_rows,
                                   shard_schema, to_numpy)

ARCHITECTURE_COLUMNS = [
    "dataset", "subject", "session", "video_id", "clip_index", "first_frame", "num_frames", "fps",
    "ppg", "hr", "backbone_wave", "feat_s1", "feat_s2", "feat_s3", "feat_s4", "rgb_mean",
    "background_mean", "face_fraction", "roi", "keyframe_index", "description", "stats_min", "stats_max", "stats_median",
    "stats_trend", "stats_lags", "stats_text", "metadata"]


def test_schema_has_the_documented_columns_and_shapes():
    schema = shard_schema(128, [(64, 128), (64, 64), (64, 32), (64, 16)])
    assert schema.names == ARCHITECTURE_COLUMNS
    assert schema.field("rgb_mean").type.shape == [128, 3]
    assert schema.field("stats_lags").type.value_type == pa.int32()
    assert clip_frames(schema) == 128
    assert feature_shapes(schema) == [(64, 128), (64, 64), (64, 32), (64, 16)]


def test_rows_to_table_and_back_to_numpy(make_rows):
    rows = make_rows("synthetic/s1/a", 3)
    table = rows_to_table(rows, schema_for_rows(rows))
    feat = to_numpy(table["feat_s2"])
    assert feat.shape == (3, 64, 8) and feat.dtype == np.float32
    np.testing.assert_array_equal(feat, np.stack([r["feat_s2"] for r in rows]))
    hr = to_numpy(table["hr"])
    assert np.isnan(hr[0]) and hr[2] == 62.0


def test_wrong_shape_is_named():
    rows_schema = shard_schema(16, [(64, 16)])
    with pytest.raises(ValueError, match="backbone_wave"):
        rows_to_table([{"backbone_wave": np.zeros(15), **_minimal_row()}], rows_schema)


def _minimal_row():
    return {"dataset": "d", "subject": "s", "session": "x", "video_id": "d/s/x", "clip_index": 0,
            "first_frame": 0, "num_frames": 16, "fps": 30.0, "ppg": np.zeros(16), "hr": None}


def test_missing_value_in_a_required_column_is_named(make_rows):
    rows = make_rows("synthetic/s1/a", 2)
    rows[1]["description"] = None
    with pytest.raises(ValueError, match="'description' has a missing value"):
        rows_to_table(rows, schema_for_rows(rows))
