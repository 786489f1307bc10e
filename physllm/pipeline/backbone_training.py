"""Training a PhysNet backbone, for `physllm backbone train` and when precompute is given none.

`train_backbone`: the toolbox's PhysNet recipe (neural_methods/trainer/
PhysnetTrainer.py): Adam, negative Pearson loss (neural_methods/loss/NegPearsonLoss.py),
DiffNormalized frames and labels. Face crops are decoded once and kept as uint8 in memory;
each step takes a random `train_frames` window of a clip, which keeps a CPU step affordable
(PhysNet is fully convolutional in time, so a model trained on short windows runs on 128).
`default_backbone` trains one on the synthetic dataset's training subjects and caches it.
`BackboneTrain` is `physllm backbone train`'s options (`train_backbone_on`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from physllm.config import inline, opt
from physllm.data_catalog.record import VideoRecord
from physllm.errors import PhysllmError
from physllm.model.physnet import PhysNet
from physllm.pipeline.backbone import BackboneRunner, to_model_input
from physllm.pipeline.clips import ClipConfig, record_clips
from physllm.pulse import diff_normalize_label, hr_fft, to_pulse


@dataclass(frozen=True)
class BackboneTrainConfig:
    epochs: int = 3  # passes over the training clips; the synthetic pulse is learnt in a few
    # From scratch, the neg-Pearson loss sits near 1 (r ≈ 0) for a random number of steps before it
    # falls: training goes on past `epochs` while an epoch's mean loss is above `plateau_loss`, up
    # to `max_epochs` (measured on 24 rendered videos: 25-100 steps at lr 3e-3, > 126 at 1e-3).
    plateau_loss: float = 0.9  # r < 0.1: the model has not found the pulse yet
    max_epochs: int = 8
    batch_size: int = 4  # rPPG-Toolbox's PhysNet configs (TRAIN.BATCH_SIZE: 4)
    # A third of the toolbox's 9e-3 peak (OneCycle), no schedule: 1e-3 left the plateau within
    # 126 steps for 1 of 2 seeds on those videos, 3e-3 for 3 of 3
    lr: float = 3e-3
    train_frames: int = 64  # window per step: 2+ beats at 45 bpm, half the cost of 128
    seed: int = 0
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"epochs": ">= 1", "plateau_loss": "[0, 2]", "max_epochs": ">= 1", "batch_size": ">= 1",
              "lr": "> 0", "train_frames": ">= 4"}


@dataclass
class BackboneTrain:
    """`physllm backbone train`: the dataset, where the checkpoint goes, and the training."""

    dataset: str = opt("Dataset name (see `physllm datasets list`).")
    root: Path = opt("The dataset's root folder.")
    out: Path = opt("Where to write the checkpoint (.pth, loadable as --backbone).")
    training: BackboneTrainConfig = inline(BackboneTrainConfig)


def neg_pearson_loss(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """1 − Pearson r per sample, averaged: rPPG-Toolbox's Neg_Pearson. (B, T), (B, T) → scalar."""
    pred = pred - pred.mean(dim=1, keepdim=True)
    label = label - label.mean(dim=1, keepdim=True)
    r = (pred * label).sum(dim=1) / (pred.norm(dim=1) * label.norm(dim=1) + 1e-8)
    return (1.0 - r).mean()


def _train_epoch(model: PhysNet, optimizer: torch.optim.Optimizer, frames: np.ndarray, ppg: np.ndarray,
                 window: int, batch_size: int, rng: np.random.Generator) -> float:
    """One shuffled pass, a random `window` of each clip per step; returns the mean loss."""
    losses = []
    for batch in np.array_split(rng.permutation(len(frames)), max(1, len(frames) // batch_size)):
        starts = rng.integers(0, frames.shape[1] - window + 1, size=len(batch))
        x = to_model_input(np.stack([frames[i, s:s + window] for i, s in zip(batch, starts)]))
        y = torch.from_numpy(np.stack([diff_normalize_label(ppg[i, s:s + window])
                                       for i, s in zip(batch, starts)]))
        loss = neg_pearson_loss(model(x).wave, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def decode_clips(records: Sequence[VideoRecord], clip_cfg: ClipConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every whole clip of `records` once: uint8 crops (N, T, S, S, 3) and raw PPG (N, T)."""
    frames, ppg = [], []
    for record in records:
        for clip in record_clips(record, clip_cfg):
            frames.append(clip.frames)
            ppg.append(clip.ppg)
    if not frames:
        raise PhysllmError(f"no whole clip of {clip_cfg.clip_frames} frames in {len(records)} videos "
                           "to train the backbone on")
    return np.stack(frames), np.stack(ppg)


def train_backbone(records: Sequence[VideoRecord], out: str | Path,
                   cfg: BackboneTrainConfig = BackboneTrainConfig(),
                   clip_cfg: ClipConfig = ClipConfig(), log=print) -> Path:
    """Train a PhysNet from scratch on `records`; save it where `load_physnet` reads it."""
    out = Path(out)
    frames, ppg = decode_clips(records, clip_cfg)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = PhysNet().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    window = min(cfg.train_frames, clip_cfg.clip_frames)
    started = time.time()
    for epoch in range(max(cfg.epochs, cfg.max_epochs)):
        loss = _train_epoch(model, optimizer, frames, ppg, window, cfg.batch_size, rng)
        extra = f" (past {cfg.epochs}: the loss was above {cfg.plateau_loss})" if epoch >= cfg.epochs else ""
        log(f"backbone epoch {epoch + 1}/{cfg.epochs}{extra}: neg-Pearson loss {loss:.3f} "
            f"({time.time() - started:.0f} s)")
        if epoch + 1 >= cfg.epochs and loss <= cfg.plateau_loss:
            break
    else:  # every epoch ran: the last one still on the plateau
        log(f"warning: after {epoch + 1} epochs the backbone's neg-Pearson loss is still {loss:.3f} "
            f"(above {cfg.plateau_loss}): it has not learnt the pulse; train on more videos or "
            "pass --backbone")
    provenance = {"trained_by": "physllm.pipeline.backbone_training.train_backbone", "config": asdict(cfg),
                  "clips": int(len(frames)), "videos": [r.video_id for r in records]}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    torch.save({"state_dict": model.state_dict(), "physllm": provenance}, tmp)
    tmp.replace(out)  # atomic: a second caller never sees a half-written checkpoint
    return out


def backbone_hr_errors(checkpoint: str | Path, records: Sequence[VideoRecord],
                       clip_cfg: ClipConfig = ClipConfig()) -> dict[str, float]:
    """|HR(backbone) − HR(ground truth)| in bpm per video, both the toolbox's way (FFT peak of the
    joined clips; the DiffNormalized output integrated first)."""
    runner = BackboneRunner(checkpoint)
    errors = {}
    for record in records:
        frames, ppg = decode_clips([record], clip_cfg)
        wave = runner.run(frames).wave.reshape(-1)
        predicted = hr_fft(to_pulse(wave, record.fps, diff=True), record.fps)
        truth = hr_fft(to_pulse(ppg.reshape(-1), record.fps), record.fps)
        errors[record.video_id] = abs(predicted - truth)
    return errors


def intra_split(dataset: str, root: str | Path) -> dict[str, list[VideoRecord]]:
    """The train / val / test subjects of `<dataset>-intra` (data_catalog/splits.py)."""
    from physllm.data_catalog import scan
    from physllm.data_catalog.splits import apply_protocol, intra_protocol

    records = scan(dataset, root)
    return apply_protocol(intra_protocol(records[0].dataset if records else dataset), records)


def train_backbone_on(dataset: str, root: str | Path, out: str | Path,
                      cfg: BackboneTrainConfig = BackboneTrainConfig(), log=print) -> dict[str, float]:
    """`physllm backbone train`: train on the intra protocol's training subjects, then return the
    HR error (bpm) of each of its test videos."""
    split = intra_split(dataset, root)
    if not split["train"] or not split["test"]:
        raise PhysllmError(f"{root}: too few subjects of {dataset!r} to split into training and "
                           f"test subjects ({len(split['train'])} / {len(split['test'])})")
    train_backbone(split["train"], out, cfg, log=log)
    return backbone_hr_errors(out, split["test"])


def default_backbone(cache_root: str | Path, dataset: str, root: str | Path,
                     cfg: BackboneTrainConfig = BackboneTrainConfig(), log=print) -> Path:
    """A PhysNet trained on the training subjects of `synthetic-intra`, cached under
    `<cache_root>/backbones/<hash>.pth` (hash of the training videos and settings): a second
    call returns the same file without training. Only the synthetic dataset is allowed: a real
    dataset deserves a real backbone (`--backbone`, e.g. an rPPG-Toolbox checkpoint)."""
    from physllm.data_catalog import canonical_name
    from physllm.shards.cache import cache_key
    from physllm.shards.manifest import source_fingerprint

    if canonical_name(dataset) != "synthetic":
        raise PhysllmError(f"no --backbone given for dataset {dataset!r}: pass a PhysNet checkpoint "
                           "(an rPPG-Toolbox PhysNet .pth, or one from `physllm backbone train`); "
                           "a backbone is trained automatically only for the synthetic dataset")
    records = intra_split(dataset, root)["train"]
    clip_cfg = ClipConfig()
    identity = {"videos": [(r.video_id, source_fingerprint(r.path), str(r.metadata)) for r in records],
                "train": asdict(cfg), "clips": asdict(clip_cfg)}
    path = Path(cache_root) / "backbones" / f"{cache_key(identity)}.pth"
    if not path.is_file():
        log(f"training a PhysNet backbone on {len(records)} synthetic videos → {path}")
        train_backbone(records, path, cfg, clip_cfg, log=log)
    return path
