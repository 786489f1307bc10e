"""Every input a model reads from a clip, as the shard columns (shards/schema.py) that
`precompute` writes and `physllm predict` computes for a new video through this same function:
the frozen PhysNet's wave and multi-scale features, the describer's text of the keyframe, the
statistics of the wave (cues/stats.py, as numbers and the sentence), the skin's mean colour (from
which the chrominance wave is made, cues/chrominance.py), the background's (what the light did:
cues/quality.py), and the clip's identity in its video.
The runner and the describer are passed in, loaded once per worker by the caller."""

from __future__ import annotations

import numpy as np

from physllm.cues.stats import compute_stats_batch, render_stats_text


def cue_rows(clips: list, runner, describer, fps: float) -> list[dict]:
    """The per-clip cue columns of shards/schema.py (identity columns are added by the driver):
    `clips` are pipeline.clips.Clip, `runner` a pipeline.backbone.BackboneRunner, `describer`
    one of pipeline.describers."""
    out = runner.run(np.stack([c.frames for c in clips]))
    descriptions = describer.describe(clips)
    stats = compute_stats_batch(out.wave, fps)
    rows = []
    for i, clip in enumerate(clips):
        row = {"clip_index": clip.clip_index, "first_frame": clip.first_frame, "num_frames": len(clip.frames),
               "ppg": clip.ppg, "backbone_wave": out.wave[i], "rgb_mean": clip.rgb_mean,
               "background_mean": clip.background_mean,
               "face_fraction": clip.face_fraction, "roi": clip.roi, "keyframe_index": clip.keyframe_index,
               "description": descriptions[i]}
        row.update({f"feat_s{s + 1}": feature[i] for s, feature in enumerate(out.features)})
        row.update(stats[i].as_columns(render_stats_text(stats[i])))
        rows.append(row)
    return rows
