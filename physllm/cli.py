"""The `physllm` command line (typer). Thin: resolve the command's config, then call one function.

Each command's options are generated from its config dataclass (`physllm.config`): one flag per
field, nested sections as dotted flags (`--clips.face.detect-every`), the default and the valid
range shown from the dataclass, and `--config FILE` (YAML or JSON, the same keys) on every
command; the flags given win over the file. Commands are built when they are called, so that
`physllm --help` does not import torch. A `PhysllmError` raised anywhere below becomes
`error: <message>` on stderr and exit code 2, never a traceback.
"""

import inspect
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional

import click
import typer
from typer.core import TyperGroup

from physllm.errors import PhysllmError

CONFIG_HELP = "A YAML or JSON file with the same keys as these options (sections nest); options given win."
# Shorter spellings kept from earlier versions; each means the same in every command.
ALIASES = {"window_s": ["--window", "--window-seconds"], "step_s": ["--step"], "clips.roi": ["--roi"],
           "num_subjects": ["--subjects"], "num_workers": ["--workers"],
           "wait_timeout_s": ["--wait-timeout"]}


class LazyCommand(NamedTuple):
    """A command built on first use: `load()` returns (options dataclass, run(options), help)."""

    short_help: str
    load: Callable[[], tuple]


def lazy_group(commands: dict[str, LazyCommand], catch_errors: bool = False) -> type:
    """A typer group whose commands in `commands` are generated only when asked for."""

    class Group(TyperGroup):
        built: dict = {}  # name → the generated command, once asked for

        def list_commands(self, ctx):
            return sorted({*super().list_commands(ctx), *commands})

        def resolve_command(self, ctx, args):
            name = args[0] if args else None
            if name in commands and name not in self.built:  # about to run: build it for real
                self.built[name] = build_command(name, *commands[name].load())
            return super().resolve_command(ctx, args)

        def get_command(self, ctx, name):
            """The built command, or (for a help listing) a stand-in that imports nothing."""
            if name not in commands:
                return super().get_command(ctx, name)
            short = commands[name].short_help
            return self.built.get(name) or click.Command(name, help=short, short_help=short)

        def invoke(self, ctx):
            if not catch_errors:
                return super().invoke(ctx)
            try:
                return super().invoke(ctx)
            except PhysllmError as error:  # a user's mistake: one clear line and exit code 2
                from physllm.progress import console

                console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
                raise typer.Exit(2) from None

    return Group


# ---------------------------------------------------------------- generating a command


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


def _parameter(option) -> inspect.Parameter:
    """The typer parameter of one config field: every flag defaults to None (= not given) and
    shows the dataclass's default instead."""
    tp = option.type
    is_list = getattr(tp, "__origin__", None) is list
    annotation = Optional[List[tp.__args__[0]]] if is_list else Optional[tp]  # a repeatable option
    help_text = option.help + (f" [range: {option.range}]" if option.range else "")
    name = option.key.replace(".", "__")
    if option.argument:
        default = typer.Argument(None, help=help_text, show_default=False)
    elif tp is bool:
        flag = option.flag
        default = typer.Option(None, f"{flag}/--no-{flag[2:]}", help=help_text, show_default=_show(option.default))
    else:
        shown = "required" if option.required else _show(option.default)
        default = typer.Option(None, option.flag, *ALIASES.get(option.key, []), help=help_text,
                               show_default=shown)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _split_commas(values):
    """A list option may be repeated or comma-separated: `--baselines pos,chrom`."""
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def build_command(name: str, options_cls, run: Callable, doc: str):
    """A click command for `options_cls` (via typer): its fields as flags, plus --config."""
    from physllm.config import options_of, resolve

    options = [o for o in options_of(options_cls) if o.on_command_line]
    params = [_parameter(o) for o in options]
    params.append(inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
                                    default=typer.Option(None, "--config", help=CONFIG_HELP)))

    def callback(**kwargs):
        flags = {}
        for option in options:
            value = kwargs[option.key.replace(".", "__")]
            if isinstance(value, (list, tuple)):  # given: `--baselines ""` is an empty list
                value = _split_commas(value)
            flags[option.key] = value
        run(resolve(options_cls, kwargs["config"], flags))

    callback.__signature__ = inspect.Signature(params)
    callback.__doc__ = doc
    single = typer.Typer(add_completion=False)
    single.command(name)(callback)
    return typer.main.get_command(single)


def _stdout():
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # piped or captured: don't fold tables to rich's 80 columns
        console.width = 200
    return console


# ---------------------------------------------------------------- datasets


def load_datasets_check():
    from physllm.data_catalog.check import DatasetsCheck

    def run(o):
        from rich.console import Console

        from physllm.data_catalog.check import check_dataset
        from physllm.tables import print_dataset_check

        print_dataset_check(check_dataset(o.dataset, o.root), Console(soft_wrap=True))

    return DatasetsCheck, run, "Validate a dataset folder and print what it holds (subjects, sessions, minutes, fps, GT rate)."


def load_datasets_synth():
    from physllm.config import write_resolved
    from physllm.render.synthetic import DatasetsSynth

    def run(o):
        from physllm.render.synthetic import write_synthetic_dataset

        write_synthetic_dataset(o.out, o.synth, workers=o.num_workers)
        write_resolved(o, o.out, "synth")
        typer.echo(f"wrote synthetic dataset to {o.out}")

    return DatasetsSynth, run, "Render the synthetic dataset: faces whose skin colour carries a known pulse."


# ---------------------------------------------------------------- cache


def load_cache_ls():
    from physllm.shards.cache import CacheRoot

    def run(o):
        from physllm.tables import print_cache_list

        print_cache_list(o.cache_root, _stdout())

    return CacheRoot, run, "List every cache: dataset, key, videos done/failed, clips, size, created, backbone, describer."


def load_cache_info():
    from physllm.shards.cache import CacheKey

    def run(o):
        from physllm.tables import print_cache_info

        print_cache_info(o.cache_root, o.key, _stdout())

    return CacheKey, run, "Show one cache: its settings, counts, size and the reason each failed video failed."


def load_cache_verify():
    from physllm.shards.cache import CacheVerify

    def run(o):
        from physllm.tables import print_verify

        if not print_verify(o.cache_root, o.key, _stdout()):
            raise typer.Exit(1)

    return (CacheVerify, run,
            "Check every listed shard (exists, readable, row count, schema version, sha256) and report "
            "leftovers of interrupted runs. Exit code 1 when a cache is damaged.")


# ---------------------------------------------------------------- precompute, backbone


def load_precompute():
    from physllm.config import RESOLVED_SUFFIX, resolved_yaml, write_resolved
    from physllm.pipeline.job import PrecomputeConfig, run_precompute

    def run(cfg):
        from physllm.shards import storage

        summary = run_precompute(cfg)
        if storage.is_remote(summary.path):  # object storage: one PUT, as the shards
            storage.write_atomic(summary.path / f"precompute{RESOLVED_SUFFIX}", resolved_yaml(cfg).encode())
        else:
            write_resolved(cfg, summary.path, "precompute")
        startup = (f" ({summary.startup_seconds:.1f} s of it starting Ray and the workers)"
                   if summary.computed_videos else "")
        typer.echo(f"cache {storage.url(summary.path)}: {summary.videos_done} videos done ({summary.clips} clips), "
                   f"{summary.videos_failed} failed; computed {summary.computed_videos} videos in "
                   f"{summary.seconds:.1f} s{startup}")
        for video_id, reason in summary.failures.items():
            typer.echo(f"  failed {video_id}: {reason}")

    return (PrecomputeConfig, run,
            "Decode, crop and clip every video, run the frozen PhysNet, the describer and the stats cues, "
            "and write one Parquet shard per video into a content-addressed cache. Resumes where it "
            "stopped; a second identical run computes nothing.")


def load_backbone_train():
    from physllm.config import write_resolved
    from physllm.pipeline.backbone_training import BackboneTrain

    def run(o):
        from physllm.pipeline.backbone_training import train_backbone_on

        errors = train_backbone_on(o.dataset, o.root, o.out, o.training, log=typer.echo)
        write_resolved(o, o.out.parent, o.out.stem)
        typer.echo(f"wrote {o.out}; HR error on {len(errors)} held-out videos: "
                   f"mean {sum(errors.values()) / max(1, len(errors)):.1f} bpm")

    return (BackboneTrain, run,
            "Train a PhysNet from scratch on the training subjects of <dataset>-intra (negative Pearson "
            "loss, DiffNormalized, as rPPG-Toolbox) and print its heart-rate error on the test subjects.")


# ---------------------------------------------------------------- demo, predict


def load_demo():
    from physllm.config import write_resolved
    from physllm.demo import DemoConfig

    def run(cfg):
        from physllm.demo import run_demo

        run_demo(cfg)
        write_resolved(cfg, cfg.out, "demo")

    return (DemoConfig, run,
            "The whole path on built-in synthetic data: render, backbone, precompute, train, evaluate. "
            "Nothing is downloaded; a second run reuses every stage's output and prints the table again.")


def load_predict():
    from physllm.predict import PredictConfig

    def run(cfg):
        from physllm.predict import run_predict
        from physllm.tables import print_batch

        result = run_predict(cfg)  # writes <out>/predict.config.yaml, the resolved config
        print_batch(result)
        if result.failures:
            raise typer.Exit(2)

    return PredictConfig, run, "Heart rate from your own video(s): whole-video HR and a sliding-window track with confidence."


# ---------------------------------------------------------------- train, evaluate


def load_train():
    from physllm.train.trainer import TrainConfig

    def run(cfg):
        from physllm.train.run import train

        result = train(cfg)  # writes <out>/train_config.json, the resolved config
        typer.echo(f"best checkpoint: {result.best_checkpoint or '(no validation split)'}; "
                   f"last: {result.last_checkpoint}; best val MAE {result.best_val_mae:.2f} bpm")

    return TrainConfig, run, "Train PhysLLM's adapters and LoRA on precomputed shards (`physllm precompute`)."


def load_evaluate():
    from physllm.config import write_resolved
    from physllm.evaluate import EvaluateConfig, evaluate_checkpoint

    def run(cfg):
        evaluate_checkpoint(cfg)
        write_resolved(cfg, cfg.out, "evaluate")
        typer.echo(f"wrote the evaluation to {cfg.out}")

    return EvaluateConfig, run, "Evaluate a checkpoint on a split as rPPG-Toolbox does: per-video HR, MAE/RMSE/MAPE/r/SNR."


# ---------------------------------------------------------------- the app


TOP = {
    "precompute": LazyCommand("Run the frozen models over a dataset once; write a shard cache.", load_precompute),
    "train": LazyCommand("Train PhysLLM's adapters and LoRA on precomputed shards.", load_train),
    "evaluate": LazyCommand("Evaluate a checkpoint on a split, beside PhysNet and the baselines.", load_evaluate),
    "predict": LazyCommand("Heart rate from your own video(s), with a windowed track.", load_predict),
    "demo": LazyCommand("The whole path on built-in synthetic data, nothing downloaded.", load_demo),
}
DATASETS = {
    "check": LazyCommand("Validate a dataset folder and print what it holds.", load_datasets_check),
    "synth": LazyCommand("Render the synthetic dataset (faces with a known pulse).", load_datasets_synth),
}
CACHE = {
    "ls": LazyCommand("List every cache.", load_cache_ls),
    "info": LazyCommand("Show one cache: settings, counts, size, failures.", load_cache_info),
    "verify": LazyCommand("Check every shard of a cache (exit 1 when damaged).", load_cache_verify),
}
BACKBONE = {"train": LazyCommand("Train a PhysNet backbone on a dataset's training subjects.", load_backbone_train)}

app = typer.Typer(cls=lazy_group(TOP, catch_errors=True), no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False,
                  help="Pulse and heart rate from facial video (PhysLLM, ICLR 2026).")
datasets_app = typer.Typer(cls=lazy_group(DATASETS), no_args_is_help=True,
                           help="The dataset catalog: layouts, checks, synthetic data.")
cache_app = typer.Typer(cls=lazy_group(CACHE), no_args_is_help=True, help="Inspect and verify precomputed shard caches.")
backbone_app = typer.Typer(cls=lazy_group(BACKBONE), no_args_is_help=True,
                           help="Train or inspect the frozen PhysNet backbone.")
app.add_typer(datasets_app, name="datasets")
app.add_typer(cache_app, name="cache")
app.add_typer(backbone_app, name="backbone")


@datasets_app.command("list")
def datasets_list() -> None:
    """Show every dataset with its expected on-disk layout and citation."""
    from rich.console import Console

    from physllm.tables import print_dataset_list

    print_dataset_list(Console(soft_wrap=True))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
