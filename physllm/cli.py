"""The `physllm` command line (typer). Thin: parse, then call one function of the package.

Every command's docstring is its `--help`. A `PhysllmError` raised anywhere below becomes
`error: <message>` on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import click
import typer
from typer.core import TyperGroup

from physllm.errors import PhysllmError


class _UserErrorsExit2(TyperGroup):
    """Turns a user's mistake (PhysllmError) into one clear line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PhysllmError as error:
            from physllm.progress import console

            console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
            raise click.exceptions.Exit(2) from None


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
) -> None:
    """Render the synthetic dataset: faces whose skin colour carries a known pulse."""
    from physllm.data_catalog.synthetic import SynthConfig, write_synthetic_dataset

    write_synthetic_dataset(out, SynthConfig(num_subjects=subjects, seconds=seconds, seed=seed))
    typer.echo(f"wrote synthetic dataset to {out}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
