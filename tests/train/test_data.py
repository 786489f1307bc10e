"""The streaming reader: protocol splits, seeded shuffling, rank sharding, bounded memory."""

import tracemalloc

import numpy as np
import pytest

from physllm import pulse
from physllm.errors import CacheError, PhysllmError
from physllm.shards.cache import open_cache
from physllm.shards.reader import open_shards
from physllm.shards.writer import write_video_shard
from physllm.cues.texts import TASK_DESCRIPTION
from physllm.train.data import ClipStream, split_videos
from tests.train.conftest import clip_rows, write_cache


def count_tokenize(cues: dict[str, list[str]]) -> dict:
    """A stand-in for the model's tokenizer: the tests here look at the clips, not the tokens."""
    return {cue: {"texts": texts} for cue, texts in cues.items()}


def stream(shard_set, video_ids, **kw) -> ClipStream:
    return ClipStream(shard_set, video_ids, count_tokenize, **kw)


def clip_keys(batches) -> list[tuple[str, int]]:
    return [(c.video_id, c.clip_index) for b in batches for c in b.ids]


def subjects(ids):
    return {v.split("/")[1] for v in ids}


def test_default_protocol_splits_subjects_of_the_one_dataset(tiny_cache):
    splits = split_videos(open_shards([tiny_cache]))
    assert splits.protocol == "synthetic-intra"
    assert (len(splits.train), len(splits.val), len(splits.test)) == (6, 2, 2)
    assert not subjects(splits.train) & subjects(splits.val)
    assert not subjects(splits.train) & subjects(splits.test)
    # numeric subject order (p10 after p9), as rPPG-Toolbox should have done
    assert subjects(splits.test) == {"p9", "p10"}


def test_cross_protocol_over_two_caches(tmp_path):
    a = write_cache(tmp_path, "pure", videos=5, clips=2)
    b = write_cache(tmp_path, "ubfc-rppg", videos=3, clips=2)
    splits = split_videos(open_shards([a, b]), "pure->ubfc-rppg")
    assert {v.split("/")[0] for v in splits.train + splits.val} == {"pure"}
    assert {v.split("/")[0] for v in splits.test} == {"ubfc-rppg"} and len(splits.test) == 3
    with pytest.raises(PhysllmError, match="several datasets"):
        split_videos(open_shards([a, b]))


def test_protocol_naming_a_dataset_without_cache(tiny_cache):
    with pytest.raises(CacheError, match="needs dataset.*mmpd"):
        split_videos(open_shards([tiny_cache]), "synthetic->mmpd")


def test_batches_hold_tensors_targets_and_cues(tiny_cache):
    shard_set = open_shards([tiny_cache])
    video = split_videos(shard_set).train[0]
    (batch, *_) = stream(shard_set, [video], batch_size=4, shuffle=False).batches()
    assert batch.wave.shape == (4, 32)
    assert [tuple(f.shape) for f in batch.features] == [(4, 64, 32), (4, 64, 16), (4, 64, 8), (4, 64, 8)]
    table = shard_set.read_video(video)
    ppg = np.stack(table.column("ppg").combine_chunks().to_numpy_ndarray()[:4])
    expected = [pulse.diff_normalize_label(p) for p in ppg]
    expected = [(e - e.mean()) / e.std() for e in expected]
    np.testing.assert_allclose(batch.target.numpy(), np.stack(expected), atol=1e-4)
    assert [c.first_frame for c in batch.ids] == [0, 32, 64, 96]
    task = batch.cue_tokens["task"]["texts"][0]
    assert "Test videos of the synthetic dataset." in task and TASK_DESCRIPTION in task
    assert batch.cue_tokens["stats"]["texts"][0].startswith("Input statistics")
    assert "evenly lit" in batch.cue_tokens["vision"]["texts"][0]
    assert batch.chroma.shape == (4, 32)  # this cache's skin colour carries its PPG: the two agree (the
    # band-pass of 32-frame clips bends their ends)
    assert all(np.corrcoef(c, t)[0, 1] > 0.75 for c, t in zip(batch.chroma.numpy(), batch.target.numpy()))


def test_shuffle_is_seeded_per_epoch_and_covers_every_clip(tiny_cache):
    shard_set = open_shards([tiny_cache])
    train = split_videos(shard_set).train
    s = stream(shard_set, train, batch_size=5, buffer_size=8, seed=3)
    epoch0, again, epoch1 = (clip_keys(s.batches(e)) for e in (0, 0, 1))
    assert epoch0 == again
    assert epoch0 != epoch1
    in_order = clip_keys(stream(shard_set, train, batch_size=5, shuffle=False).batches())
    assert sorted(epoch0) == sorted(in_order) and len(epoch0) == s.num_clips == 36
    assert epoch0 != in_order
    assert len(s) == 8  # ceil(36 / 5)
    # skipping the first batches (resume) yields exactly the rest of the same epoch
    assert clip_keys(s.batches(0, skip=3)) == epoch0[15:]


def test_ranks_read_disjoint_videos_and_the_same_number_of_batches(tiny_cache):
    shard_set = open_shards([tiny_cache])
    train = split_videos(shard_set).train
    ranks = [stream(shard_set, train, batch_size=4, rank=r, world_size=2) for r in range(2)]
    batches = [list(s.batches(1)) for s in ranks]
    assert len(batches[0]) == len(batches[1]) == len(ranks[0]) == 4  # floor(36 / 2 / 4)
    videos = [{c.video_id for b in bs for c in b.ids} for bs in batches]
    assert not videos[0] & videos[1]


def test_memory_is_bounded_by_the_buffer_not_the_dataset(tmp_path):
    """Reading starts lazily and the peak memory of an epoch does not grow with the dataset."""
    small = open_shards([write_cache(tmp_path / "small", videos=4, clips=8)])
    large = open_shards([write_cache(tmp_path / "large", videos=32, clips=8)])

    reads = []
    original = large.iter_batches

    def counting(*args, **kw):
        for record_batch in original(*args, **kw):
            reads.append(record_batch.num_rows)
            yield record_batch

    large.iter_batches = counting
    batches = stream(large, sorted(v.video_id for v in large.videos()), batch_size=4,
                     buffer_size=12).batches()
    next(batches)
    assert sum(reads) <= 24, "the first batch needed more than buffer + batch clips (3 videos)"

    def peak(shard_set) -> int:
        ids = sorted(v.video_id for v in shard_set.videos())
        tracemalloc.start()
        for _ in stream(shard_set, ids, batch_size=4, buffer_size=12).batches():
            pass
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes

    assert large.num_clips == 8 * small.num_clips
    assert peak(large) < 1.5 * peak(small)


def test_clips_with_nan_or_inf_are_left_out_and_named(tmp_path):
    rng = np.random.default_rng(0)
    cache = open_cache(tmp_path, "synthetic", {"k": 1})
    rows = clip_rows("synthetic", "p1", 3, 72.0, rng)
    rows[1]["backbone_wave"][5] = np.nan
    rows[2]["feat_s3"][0, 0] = np.inf
    write_video_shard(cache, "synthetic/p1/s1", rows, {"dataset_description": "d"})
    s = stream(open_shards([cache.path]), ["synthetic/p1/s1"], batch_size=2, shuffle=False)
    assert clip_keys(s.batches()) == [("synthetic/p1/s1", 0)]
    named = {str(c): cols for c, cols in s.bad_clips.items()}
    assert named == {"synthetic/p1/s1 clip 1 (frame 32)": "backbone_wave",
                     "synthetic/p1/s1 clip 2 (frame 64)": "feat_s3"}
