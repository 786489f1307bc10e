"""The `physllm` command line (typer). Thin: parse, then call one function of the package.

Every command's docstring is its `--help`. A `PhysllmError` raised anywhere below becomes
`error: <message>` on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from physllm.errors import PhysllmError


class _UserErrorsExit2(TyperGroup):
    """Turns a user's mistake (PhysllmError) into one clear line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PhysllmError as error:
            from physllm.progress import console

            console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = typer.Typer(cls=_UserErrorsExit2, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False,
                  help="Pulse and heart rate from facial video (PhysLLM, ICLR 2026).")
datasets_app = typer.Typer(no_args_is_help=True, help="The dataset catalog: layouts, checks, synthetic data.")
cache_app = typer.Typer(no_args_is_help=True, help="Inspect and verify precomputed shard caches.")
backbone_app = typer.Typer(no_args_is_help=True, help="Train or inspect the frozen PhysNet backbone.")
app.add_typer(datasets_app, name="datasets")
app.add_typer(cache_app, name="cache")
app.add_typer(backbone_app, name="backbone")


# ---------------------------------------------------------------- datasets


@datasets_app.command("list")
def datasets_list() -> None:
    """Show every dataset with its expected on-disk layout and citation."""
    from physllm.data_catalog.describe import print_dataset_list

    print_dataset_list()


@datasets_app.command("check")
def datasets_check(
    dataset: str = typer.Option(..., help="Dataset name (see `physllm datasets list`)."),
    root: Path = typer.Option(..., help="The dataset's root folder, in its published layout."),
) -> None:
    """Validate a dataset folder and print what it holds (subjects, sessions, minutes, fps, GT rate)."""
    from physllm.data_catalog.describe import print_dataset_check

    print_dataset_check(dataset, root)


@datasets_app.command("synth")
def datasets_synth(
    out: Path = typer.Option(..., help="Folder to write the synthetic dataset to (UBFC-rPPG layout)."),
    subjects: int = typer.Option(12, help="Number of rendered subjects (one video each)."),
    seconds: float = typer.Option(30.0, help="Length of each video in seconds."),
    seed: int = typer.Option(0, help="Random seed: the same seed writes the same dataset."),
    width: int = typer.Option(320, help="Frame width in pixels (MMPD's full set: 320)."),
    height: int = typer.Option(240, help="Frame height in pixels (MMPD's full set: 240)."),
    easy_fraction: float = typer.Option(1 / 3, help="Share of easy videos (still, bright, clean); the rest are hard."),
    workers: int = typer.Option(1, help="Processes rendering subjects in parallel (same files either way)."),
) -> None:
    """Render the synthetic dataset: faces whose skin colour carries a known pulse."""
    from physllm.data_catalog.synthetic import SynthConfig, write_synthetic_dataset

    cfg = SynthConfig(num_subjects=subjects, seconds=seconds, seed=seed, width=width, height=height,
                      easy_fraction=easy_fraction)
    write_synthetic_dataset(out, cfg, workers=workers)
    typer.echo(f"wrote synthetic dataset to {out}")


# ---------------------------------------------------------------- cache

CACHE_ROOT_OPTION = typer.Option(
    Path("physllm-cache"), "--cache-root", envvar="PHYSLLM_CACHE",
    help="Folder holding the caches (<root>/<dataset>/<key>/); default $PHYSLLM_CACHE or ./physllm-cache.")


def _stdout():
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # piped or captured: don't fold tables to rich's 80 columns
        console.width = 200
    return console


@cache_app.command("ls")
def cache_ls(cache_root: Path = CACHE_ROOT_OPTION) -> None:
    """List every cache: dataset, key, videos done/failed, clips, size, created, backbone, describer."""
    from physllm.shards.cache import print_cache_list

    print_cache_list(cache_root, _stdout())


@cache_app.command("info")
def cache_info(
    key: str = typer.Argument(..., help="A cache key, or a unique prefix of one."),
    cache_root: Path = CACHE_ROOT_OPTION,
) -> None:
    """Show one cache: its settings, counts, size and the reason each failed video failed."""
    from physllm.shards.cache import print_cache_info

    print_cache_info(cache_root, key, _stdout())


@cache_app.command("verify")
def cache_verify(
    key: Optional[str] = typer.Argument(None, help="A cache key or prefix; default: every cache."),
    cache_root: Path = CACHE_ROOT_OPTION,
) -> None:
    """Check every listed shard (exists, readable, row count, schema version, sha256) and report
    leftovers of interrupted runs. Exit code 1 when a cache is damaged."""
    from physllm.shards.cache import print_verify

    if not print_verify(cache_root, key, _stdout()):
        raise typer.Exit(1)


# ---------------------------------------------------------------- precompute, backbone


@app.command("precompute")
def precompute(
    dataset: str = typer.Option(..., help="Dataset name (see `physllm datasets list`)."),
    root: Path = typer.Option(..., help="The dataset's root folder, in its published layout."),
    cache_root: Path = CACHE_ROOT_OPTION,
    backbone: Optional[Path] = typer.Option(
        None, help="PhysNet checkpoint (.pth); default: one trained on the synthetic data and cached."),
    describer: str = typer.Option("fast", help="Vision describer: fast (offline) or llava (the paper's)."),
    describer_model: Optional[str] = typer.Option(None, help="LLaVA model id or folder (llava only)."),
    batch_size: int = typer.Option(8, min=1, help="Clips per PhysNet batch (bounds the memory in flight)."),
    num_backbone_workers: Optional[int] = typer.Option(
        None, min=1, help="Actors each holding PhysNet and the describer (default: 3/4 of the CPUs, or 1 per GPU)."),
    num_gpus_per_worker: float = typer.Option(0.0, min=0.0, help="GPUs per actor (0: CPU only)."),
    address: Optional[str] = typer.Option(None, envvar="RAY_ADDRESS", help="Ray cluster address; default: local."),
    wait_timeout: float = typer.Option(
        600.0, min=1.0, help="Seconds with nothing progressing (workers waiting for resources) before stopping."),
) -> None:
    """Decode, crop and clip every video, run the frozen PhysNet, the describer and the stats cues,
    and write one Parquet shard per video into a content-addressed cache. Resumes where it stopped;
    a second identical run computes nothing."""
    from physllm.pipeline.job import PrecomputeConfig, run_precompute

    summary = run_precompute(PrecomputeConfig(
        dataset=dataset, root=root, cache_root=cache_root, backbone=backbone, describer=describer,
        describer_model=describer_model, batch_size=batch_size, num_backbone_workers=num_backbone_workers,
        num_gpus_per_worker=num_gpus_per_worker, address=address, wait_timeout_s=wait_timeout))
    startup = f" ({summary.startup_seconds:.1f} s of it starting Ray and the workers)" if summary.computed_videos else ""
    typer.echo(f"cache {summary.path}: {summary.videos_done} videos done ({summary.clips} clips), "
               f"{summary.videos_failed} failed; computed {summary.computed_videos} videos in "
               f"{summary.seconds:.1f} s{startup}")
    for video_id, reason in summary.failures.items():
        typer.echo(f"  failed {video_id}: {reason}")


@backbone_app.command("train")
def backbone_train(
    dataset: str = typer.Option(..., help="Dataset name (see `physllm datasets list`)."),
    root: Path = typer.Option(..., help="The dataset's root folder."),
    out: Path = typer.Option(..., help="Where to write the checkpoint (.pth, loadable as --backbone)."),
    epochs: int = typer.Option(3, min=1, help="Passes over the training clips (more, up to 8, while the neg-Pearson loss stays above 0.9)."),
) -> None:
    """Train a PhysNet from scratch on the training subjects of <dataset>-intra (negative Pearson
    loss, DiffNormalized, as rPPG-Toolbox) and print its heart-rate error on the test subjects."""
    from physllm.pipeline.backbone import BackboneTrainConfig, train_backbone_on

    errors = train_backbone_on(dataset, root, out, BackboneTrainConfig(epochs=epochs), log=typer.echo)
    typer.echo(f"wrote {out}; HR error on {len(errors)} held-out videos: "
               f"mean {sum(errors.values()) / max(1, len(errors)):.1f} bpm")


# ---------------------------------------------------------------- demo


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("physllm-demo"), help="Folder for the data, caches, checkpoint and report."),
    subjects: int = typer.Option(20, help="Synthetic subjects to render (one 30 s video each)."),
    epochs: int = typer.Option(12, help="PhysLLM training epochs."),
    seed: int = typer.Option(0, help="Seed for the data, the split order and training."),
    backbone: Optional[Path] = typer.Option(None, help="A PhysNet checkpoint (.pth), e.g. a released "
                                            "rPPG-Toolbox one; default: train one on the synthetic data."),
) -> None:
    """The whole path on built-in synthetic data: render, backbone, precompute, train, evaluate.

    Nothing is downloaded; a second run reuses every stage's output and prints the table again.
    """
    from physllm.demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=out, subjects=subjects, epochs=epochs, seed=seed, backbone=backbone))


# ---------------------------------------------------------------- predict


@app.command("predict")
def predict(
    videos: List[str] = typer.Argument(..., help="Video files (mp4, avi, mov, mkv), frame folders, "
                                       "or `-` / `webcam:N` for a webcam."),
    checkpoint: Optional[Path] = typer.Option(None, help="A trained PhysLLM checkpoint folder (`physllm train`)."),
    baseline: Optional[str] = typer.Option(None, help="A classic method instead of a checkpoint: pos, chrom or green."),
    out: Path = typer.Option(Path("physllm-predict"), help="Folder for the JSON, CSV and PNG outputs."),
    window: float = typer.Option(10.0, help="Sliding-window length in seconds."),
    step: float = typer.Option(1.0, help="Sliding-window step in seconds."),
    min_snr: float = typer.Option(0.0, help="Windows whose spectral-peak SNR (dB) is below this are flagged."),
    fps: Optional[float] = typer.Option(None, help="Frame rate, for a frame folder (or to override a file's header)."),
    backbone: Optional[Path] = typer.Option(None, help="PhysNet checkpoint, if not where training recorded it."),
    webcam_seconds: float = typer.Option(30.0, help="Seconds to record from a webcam."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Heart rate from your own video(s): whole-video HR and a sliding-window track with confidence."""
    from physllm.predict import PredictConfig, make_estimator, print_batch, run_predict

    estimator = make_estimator(checkpoint, baseline, backbone, device)
    cfg = PredictConfig(window_s=window, step_s=step, min_snr_db=min_snr)
    result = run_predict(videos, estimator, out, cfg, webcam_seconds=webcam_seconds, fps=fps)
    print_batch(result)
    if result.failures:
        raise typer.Exit(2)


# ---------------------------------------------------------------- train, evaluate


@app.command("train")
def train(
    shards: Optional[List[Path]] = typer.Option(None, help="A cache folder (or a folder of caches); repeat for several."),
    protocol: Optional[str] = typer.Option(None, help="Split protocol, e.g. synthetic-intra or 'pure+ubfc-rppg->mmpd'; default: the intra-dataset protocol of the one dataset."),
    llm: Optional[str] = typer.Option(None, help="Language model: minilm (offline default), a local folder or a hub id (paper: deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B)."),
    out: Optional[Path] = typer.Option(None, help="Output folder: checkpoints best/ and last/, metrics.jsonl, train_config.json (default runs/physllm)."),
    epochs: Optional[int] = typer.Option(None, help="Epochs (default 30, the authors')."),
    batch_size: Optional[int] = typer.Option(None, help="Clips per batch (default 8, the authors')."),
    lr: Optional[float] = typer.Option(None, help="Learning rate of the adapters (default 1e-4; LoRA at lr/5)."),
    resume: Optional[bool] = typer.Option(None, "--resume/--no-resume", help="Continue from <out>/last."),
    num_workers: Optional[int] = typer.Option(None, help="Ray Train workers (default 1: one process, no Ray)."),
    use_gpu: Optional[bool] = typer.Option(None, "--use-gpu/--no-gpu", help="One GPU per Ray Train worker."),
    max_steps: Optional[int] = typer.Option(None, help="Stop after this many steps (smoke runs)."),
    spectral_weight: Optional[float] = typer.Option(None, help="Weight of a heart-rate-band spectrum term added to the MSE (default 0: the authors' MSE alone; README, \"Accuracy\")."),
    config: Optional[Path] = typer.Option(None, help="A YAML or JSON file with the same keys as these flags (flags win)."),
) -> None:
    """Train PhysLLM's adapters and LoRA on precomputed shards (`physllm precompute`)."""
    from physllm.train.trainer import resolve_train_config
    from physllm.train.trainer import train as run_training

    cfg = resolve_train_config(config, shards=[str(s) for s in shards] if shards else None,
                               protocol=protocol, llm=llm, out=str(out) if out else None,
                               epochs=epochs, batch_size=batch_size, lr=lr, resume=resume,
                               num_workers=num_workers, use_gpu=use_gpu, max_steps=max_steps,
                               spectral_weight=spectral_weight)
    result = run_training(cfg)
    typer.echo(f"best checkpoint: {result.best_checkpoint or '(no validation split)'}; "
               f"last: {result.last_checkpoint}; best val MAE {result.best_val_mae:.2f} bpm")


@app.command("evaluate")
def evaluate(
    checkpoint: Path = typer.Option(..., help="A trained checkpoint folder (<train out>/best)."),
    shards: List[Path] = typer.Option(..., help="A cache folder (or a folder of caches); repeat for several."),
    protocol: Optional[str] = typer.Option(None, help="Split protocol; default: the one the checkpoint was trained with."),
    split: str = typer.Option("test", help="Which part of the protocol to evaluate: train, val or test."),
    baselines: str = typer.Option("green,chrom,pos", help="Classic baselines to report beside PhysLLM and PhysNet (comma-separated, or empty)."),
    out: Path = typer.Option(Path("physllm-eval"), help="Folder for report.json, CSVs, Bland-Altman and waveform PNGs."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    window_seconds: Optional[float] = typer.Option(None, min=1.0, help="HR per non-overlapping window of this length (rPPG-Toolbox's EVALUATION_WINDOW) instead of per whole video."),
) -> None:
    """Evaluate a checkpoint on a split as rPPG-Toolbox does: per-video HR, MAE/RMSE/MAPE/r/SNR."""
    from physllm.train.inference import evaluate_checkpoint

    names = [b.strip() for b in baselines.split(",") if b.strip()]
    evaluate_checkpoint(checkpoint, shards, protocol, names, out, split=split, device=device,
                        window_seconds=window_seconds)
    typer.echo(f"wrote the evaluation to {out}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
