"""The cues a model reads are computed in one place (physllm/cues/rows.py): for the same video,
`physllm predict`'s path gives the values `precompute` wrote into the shards."""

import numpy as np

from physllm.cues.rows import cue_rows
from physllm.data_catalog import scan
from physllm.data_catalog.video_io import open_video_timed
from physllm.pipeline.backbone import BackboneRunner
from physllm.pipeline.clips import iter_clips
from physllm.pipeline.describers import make_describer
from physllm.pipeline.job import PrecomputeConfig, run_precompute
from physllm.predict.estimators import clip_config_of
from physllm.shards.reader import open_shards
from physllm.shards.schema import to_numpy

CUES = ("backbone_wave", "rgb_mean", "feat_s1", "feat_s2", "feat_s3", "feat_s4", "stats_min", "stats_max",
        "stats_median", "stats_trend", "stats_lags")
TEXTS = ("description", "stats_text", "roi")


def test_predict_computes_the_cues_precompute_wrote(ray_local, synthetic_root, random_physnet, tmp_path):
    cache = run_precompute(PrecomputeConfig("synthetic", synthetic_root, cache_root=tmp_path / "cache",
                                            backbone=random_physnet)).path
    shards = open_shards([cache])
    record = scan("synthetic", synthetic_root)[0]
    table = shards.read_video(record.video_id)
    settings = shards.caches[0].settings
    # what `physllm predict` does with a new video: its file's frames on their time stamps, the
    # cache's clip settings, the same backbone and describer
    clips = list(iter_clips(open_video_timed(record.path), None, clip_config_of(settings), str(record.path)))
    rows = cue_rows(clips, BackboneRunner(random_physnet), make_describer(settings["describer"]["name"]),
                    record.fps)
    assert len(rows) == table.num_rows
    for column in CUES:
        stored = to_numpy(table.column(column))
        for i, row in enumerate(rows):
            np.testing.assert_allclose(np.asarray(row[column], dtype=np.float64), np.asarray(stored[i], dtype=np.float64),
                                       rtol=1e-4, atol=1e-5, err_msg=f"{column} of clip {i}")
    for column in TEXTS:
        assert [row[column] for row in rows] == table.column(column).to_pylist(), column
