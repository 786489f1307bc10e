"""Training batches streamed from shard caches, split subject-wise by a protocol.

The trainer reads what precompute wrote (nanoGPT's habit: prepare once into files, then
stream them), never videos. One epoch:

    videos of the split ─ shuffled (seed, epoch) ─ this rank's share ─ shard by shard,
    a row group at a time ─ shuffle buffer of N clips (tf.data / WebDataset style) ─ batches

so memory holds the buffer, one row group and one batch, whatever the dataset's size. The
order depends only on (seed, epoch): a resumed run sees the batches an uninterrupted run saw.

Each clip becomes: backbone wave (T,) as the shard holds it (DiffNormalized domain), the
PhysNet feature maps [(64, T_s)], the target = per-clip z-score of rPPG-Toolbox's
DiffNormalized label of the raw PPG (`pulse.diff_normalize_label`, the label the authors train
on), the chrominance wave of the clip's skin colour (`cues.chrominance`: POS, as PhysLLM's
second signal, ours), and three cue texts (PhysLLM Sec. 3.5; Time-LLM's prompt): "task" = the
cache's dataset description + the task prompt (`cues.texts`), "vision" = the describer's text, "stats" = the
stats text.
A clip with a non-finite number is left out and recorded in `ClipStream.bad_clips`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from physllm import pulse
from physllm.cues.chrominance import chrominance_wave
from physllm.cues.texts import cue_texts
from physllm.data_catalog.splits import apply_protocol, resolve_protocol
from physllm.errors import CacheError, PhysllmError
from physllm.shards.reader import ShardSet
from physllm.shards.schema import feature_column, to_numpy
from physllm.train.augment import AugmentConfig, augment_clip

ROWS_PER_READ = 32  # clips per record batch read from a shard: the writer's row-group size
PARTS = ("train", "val", "test")

Tokenize = Callable[[dict[str, list[str]]], dict]


# ---------------------------------------------------------------- splits


@dataclass(frozen=True)
class Splits:
    """Video ids per part of a protocol, restricted to the videos the shards hold."""

    protocol: str
    train: list[str]
    val: list[str]
    test: list[str]

    def part(self, name: str) -> list[str]:
        if name not in PARTS:
            raise PhysllmError(f"unknown split {name!r}; expected one of {', '.join(PARTS)}")
        return getattr(self, name)


def default_protocol(shard_set: ShardSet) -> str:
    """The intra-dataset protocol of the one dataset the shards hold; several need a name."""
    datasets = sorted({c.dataset for c in shard_set.caches})
    if len(datasets) != 1:
        raise PhysllmError(f"the shards hold several datasets ({', '.join(datasets)}); name a "
                           f"protocol with --protocol, e.g. '{'+'.join(datasets[:-1])}->{datasets[-1]}'")
    return f"{datasets[0]}-intra"


def split_videos(shard_set: ShardSet, protocol: str | None = None) -> Splits:
    """Apply a protocol (default: `default_protocol`) to the videos of the shards.

    Raises CacheError when the protocol names a dataset that no opened cache holds.
    """
    name = protocol or default_protocol(shard_set)
    spec = resolve_protocol(name)
    held = {c.dataset for c in shard_set.caches}
    missing = [d for d in spec.datasets if d not in held]
    if missing:
        raise CacheError(f"protocol {name!r} needs dataset(s) {', '.join(missing)}, but the shards "
                         f"hold only {', '.join(sorted(held))} ({', '.join(str(c.path) for c in shard_set.caches)}); "
                         f"run `physllm precompute` for them or pass their caches with --shards")
    videos = shard_set.videos()
    parts = apply_protocol(spec, sorted(v.video_id for v in videos), {v.video_id: v.metadata for v in videos})
    return Splits(name, parts["train"], parts["val"], parts["test"])


# ---------------------------------------------------------------- clips and batches


@dataclass(frozen=True)
class ClipId:
    video_id: str
    clip_index: int
    first_frame: int

    def __str__(self) -> str:
        return f"{self.video_id} clip {self.clip_index} (frame {self.first_frame})"


@dataclass
class ShardClip:
    """One shard row as the trainer reads it (the video clip it was computed from is
    pipeline.clips.Clip): numpy arrays copied out of the record batch (no view keeps it alive)."""

    id: ClipId
    fps: float
    wave: np.ndarray  # (T,) backbone output, DiffNormalized domain
    features: list[np.ndarray]  # 4 × (64, T_s)
    target: np.ndarray  # (T,) z-scored DiffNormalized label
    cues: dict[str, str]
    chroma: np.ndarray  # (T,) `chrominance_wave` of the clip's skin colour


@dataclass
class Batch:
    wave: torch.Tensor  # (B, T)
    features: list[torch.Tensor]  # 4 × (B, 64, T_s)
    target: torch.Tensor  # (B, T)
    cue_tokens: dict  # the model's `tokenize_cues` output: {cue: {input_ids, attention_mask}}
    chroma: torch.Tensor  # (B, T)
    ids: list[ClipId] = field(default_factory=list)
    fps: torch.Tensor | None = None  # (B,)

    def __len__(self) -> int:
        return self.wave.shape[0]

    def to(self, device: torch.device | str) -> "Batch":
        move = lambda x: x.to(device, non_blocking=True)  # noqa: E731
        cues = {cue: {k: move(v) for k, v in enc.items()} for cue, enc in self.cue_tokens.items()}
        return Batch(move(self.wave), [move(f) for f in self.features], move(self.target), cues,
                     move(self.chroma), self.ids, self.fps)


def make_target(ppg: np.ndarray) -> np.ndarray:
    """Raw PPG (T,) → the training target: z-scored DiffNormalized label (T,)."""
    return pulse.zscore(pulse.diff_normalize_label(ppg)).astype(np.float32)


def collate(clips: Sequence[ShardClip], tokenize: Tokenize) -> Batch:
    cues = {cue: [c.cues[cue] for c in clips] for cue in clips[0].cues}
    num_scales = len(clips[0].features)
    return Batch(
        wave=torch.from_numpy(np.stack([c.wave for c in clips])),  # (B, T)
        features=[torch.from_numpy(np.stack([c.features[s] for c in clips]))  # (B, 64, T_s)
                  for s in range(num_scales)],
        target=torch.from_numpy(np.stack([c.target for c in clips])),  # (B, T)
        cue_tokens=tokenize(cues),
        chroma=torch.from_numpy(np.stack([c.chroma for c in clips])),  # (B, T)
        ids=[c.id for c in clips],
        fps=torch.tensor([c.fps for c in clips]),
    )


# ---------------------------------------------------------------- the stream


class ClipStream:
    """Batches of the clips of `video_ids`, streamed from `shard_set`.

    shuffle=False reads videos and clips in order (validation, inference). With several
    ranks (Ray Train), each takes every `world_size`-th video of the epoch's order, and every
    rank stops after the same number of batches so that no rank waits on a collective alone.
    """

    def __init__(self, shard_set: ShardSet, video_ids: Sequence[str], tokenize: Tokenize,
                 batch_size: int = 8, shuffle: bool = True, buffer_size: int = 256,
                 seed: int = 0, rank: int = 0, world_size: int = 1,
                 augment: AugmentConfig | None = None):
        if batch_size < 1 or buffer_size < 1:
            raise PhysllmError(f"batch size and shuffle buffer must be ≥ 1, got {batch_size} and {buffer_size}")
        self.shard_set = shard_set
        self.video_ids = list(video_ids)
        self.tokenize = tokenize
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.buffer_size = buffer_size
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.augment = augment  # cue-level augmentation of each clip (train/augment.py); None: as cached
        self.num_scales = len(shard_set.feature_shapes)
        self.columns = ["video_id", "dataset", "clip_index", "first_frame", "fps", "ppg",
                        "backbone_wave", "rgb_mean", "description", "stats_text",
                        *(feature_column(s + 1) for s in range(self.num_scales))]
        self.descriptions = {c.dataset: c.dataset_description for c in shard_set.caches}
        self.bad_clips: dict[ClipId, str] = {}  # clip → the columns that held nan/inf

    @property
    def num_clips(self) -> int:
        return sum(self.shard_set.video(v).clips for v in self.video_ids)

    def __len__(self) -> int:
        """Batches per epoch (for the LR schedule); bad clips make the last batch smaller."""
        clips = self.num_clips / self.world_size
        return int(np.floor(clips / self.batch_size)) if self.world_size > 1 \
            else int(np.ceil(clips / self.batch_size))

    def epoch_order(self, epoch: int) -> list[str]:
        """This rank's videos for `epoch`: a seeded permutation, then every world_size-th."""
        order = list(self.video_ids)
        if self.shuffle:
            np.random.default_rng([self.seed, epoch]).shuffle(order)
        return order[self.rank::self.world_size]

    def batches(self, epoch: int = 0, skip: int = 0) -> Iterator[Batch]:
        """The epoch's batches; the first `skip` are read but neither tokenised nor yielded."""
        limit = len(self) if self.world_size > 1 else None
        pending: list[ShardClip] = []
        produced = 0
        rng = np.random.default_rng([self.seed, epoch, 2])  # skipped clips draw too: a resume sees the same clips
        for clip in self._shuffled(self._clips(self.epoch_order(epoch)), epoch):
            pending.append(augment_clip(clip, self.augment, rng) if self.augment else clip)
            if len(pending) == self.batch_size:
                if produced >= skip:
                    yield collate(pending, self.tokenize)
                produced += 1
                pending = []
                if limit is not None and produced >= limit:
                    return
        if pending and limit is None and produced >= skip:
            yield collate(pending, self.tokenize)

    def _clips(self, video_ids: list[str]) -> Iterator[ShardClip]:
        for record_batch in self.shard_set.iter_batches(video_ids, self.columns, ROWS_PER_READ):
            cols = {name: to_numpy(record_batch.column(name)) for name in self.columns}
            for i in range(record_batch.num_rows):
                clip = self._clip(cols, i)
                if clip is not None:
                    yield clip

    def _clip(self, cols: dict[str, np.ndarray], i: int) -> ShardClip | None:
        clip_id = ClipId(str(cols["video_id"][i]), int(cols["clip_index"][i]),
                         int(cols["first_frame"][i]))
        wave = cols["backbone_wave"][i].copy()
        features = [cols[feature_column(s + 1)][i].copy() for s in range(self.num_scales)]
        ppg, rgb = cols["ppg"][i], cols["rgb_mean"][i]
        bad = [name for name, x in (("backbone_wave", wave), ("ppg", ppg), ("rgb_mean", rgb),
                                    *((feature_column(s + 1), f) for s, f in enumerate(features)))
               if not np.isfinite(x).all()]
        if bad:
            self.bad_clips[clip_id] = ", ".join(bad)
            return None
        cues = cue_texts(self.descriptions[str(cols["dataset"][i])], str(cols["description"][i]),
                         str(cols["stats_text"][i]))
        fps = float(cols["fps"][i])
        return ShardClip(clip_id, fps, wave, features, make_target(ppg), cues, chrominance_wave(rgb, fps))

    def _shuffled(self, clips: Iterator[ShardClip], epoch: int) -> Iterator[ShardClip]:
        """A shuffle buffer: fill it, then emit a random element for every one that comes in."""
        if not self.shuffle:
            yield from clips
            return
        rng = np.random.default_rng([self.seed, epoch, 1])
        buffer: list[ShardClip] = []
        for clip in clips:
            if len(buffer) < self.buffer_size:
                buffer.append(clip)
                continue
            j = int(rng.integers(len(buffer)))
            buffer[j], clip = clip, buffer[j]
            yield clip
        rng.shuffle(buffer)
        yield from buffer
