"""Heart-rate accuracy on held-out synthetic subjects: PhysLLM against GREEN, CHROM, POS and the
frozen PhysNet alone, on the same videos.

Runs the demo's four stages (render, backbone + cue cache, train, evaluate) on a larger
synthetic set, so the test split holds enough hard scenarios (dim light, flicker, light steps,
rotation, talking, walking, noise, compression) for the comparison to mean something, then
prints the table by method and by scenario, for whole videos and for the toolbox's 10-s windows.
Every stage is cached under --out.

    python bench/accuracy.py --subjects 80 --epochs 12 --out /tmp/physllm-accuracy
    python bench/accuracy.py ... --backbone ../shared/weights/rppg-toolbox/UBFC-rPPG_PhysNet_DiffNormalized.pth

The default backbone is trained on the training subjects (self-contained, like the demo); a
released checkpoint (`--backbone`) is the setting PhysLLM is built for. The README has both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from physllm.demo import DemoConfig, run_demo
from physllm.evaluate import evaluate_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=80, help="rendered subjects (test split: 20%%)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1, help="another seed than the demo's")
    parser.add_argument("--out", type=Path, default=Path("physllm-accuracy"))
    parser.add_argument("--backbone", type=Path, default=None,
                        help="a PhysNet .pth (e.g. a released one); default: trained on the training subjects")
    args = parser.parse_args()
    result = run_demo(DemoConfig(out=args.out, subjects=args.subjects, seconds=args.seconds,
                                 epochs=args.epochs, seed=args.seed, backbone=args.backbone))
    print_summary(result.report, "whole videos")
    # Whole-video MAE on a few test videos moves only when a whole video changes side of the truth;
    # the toolbox's 10-s windows (EVALUATION_WINDOW) resolve smaller gains and losses.
    windows = evaluate_checkpoint(result.checkpoint, [result.cache], out=args.out / "eval_10s",
                                  window_seconds=10.0)
    print_summary(windows, "10-s windows")


def print_summary(report, unit: str) -> None:
    rows = {r["method"]: r for r in report.select(hr_method="fft", group="all")}
    best_baseline = min((m for m in rows if m != "physllm"), key=lambda m: rows[m]["mae"])
    print(f"\nMAE (FFT, {rows['physllm']['n']} {unit}): PhysLLM {rows['physllm']['mae']:.2f} bpm; "
          f"best other: {best_baseline} {rows[best_baseline]['mae']:.2f} bpm; "
          + ", ".join(f"{m} {r['mae']:.2f}" for m, r in rows.items() if m not in ("physllm", best_baseline)))


if __name__ == "__main__":
    main()
