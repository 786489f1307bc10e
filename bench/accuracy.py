"""Heart-rate accuracy in domain and across domains: PhysLLM against the same frozen PhysNet alone,
POS, CHROM and GREEN on the same test videos, by FFT and by peak intervals, whole videos and the
toolbox's 10-s windows.

It renders the synthetic set (renderer 1, `physllm datasets synth`) and a set from the second,
independently written renderer (`physllm.data_catalog.synthetic2`), precomputes both with one
frozen PhysNet, then, for each protocol, trains PhysLLM and evaluates its test split:

    synthetic-intra                subject-wise 60/20/20 on renderer 1 (in domain)
    synthetic-loco-<condition>     renderer 1 without a condition (flicker, dim, each motion,
                                   the darkest skin tone), tested on it (data_catalog/splits.py)
    synthetic->synthetic2          trained on renderer 1, tested on every renderer-2 video
    synthetic->synthetic2-shiftval trained on renderer 1, chosen on half of renderer 2, tested on
                                   the other half (the demo's protocol)

Each checkpoint is evaluated twice: as trained (the fallback to PhysNet calibrated on the
validation split, `gate`) and with the fallback off (`no gate`): the gate's ablation on the
same weights. Every stage is cached under --out; a second run only prints the tables.

    python bench/accuracy.py --backbone <rPPG-Toolbox weights>/UBFC-rPPG_PhysNet_DiffNormalized.pth \
        --out /tmp/physllm-accuracy
    ... --protocols synthetic->synthetic2 --recipe '{"augment": true, "backbone_weight": 0.5}'
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from physllm.data_catalog.splits import CONDITION_PROTOCOLS

PROTOCOLS = ("synthetic-intra", *CONDITION_PROTOCOLS, "synthetic->synthetic2", "synthetic->synthetic2-shiftval")
METHODS = ("physllm", "physllm (no gate)", "physnet", "pos", "chrom", "green")


def render(out: Path, subjects: int, subjects2: int, seconds: float, seed: int, seed2: int) -> tuple[Path, Path]:
    from physllm.data_catalog import synthetic, synthetic2

    first, second = out / "data" / "synthetic", out / "data" / "synthetic2"
    cfg = synthetic.SynthConfig(num_subjects=subjects, seconds=seconds, seed=seed)
    if not synthetic.is_written_with(first, cfg):
        synthetic.write_synthetic_dataset(first, cfg, workers=2)
    cfg2 = synthetic2.Synth2Config(num_subjects=subjects2, seconds=seconds, seed=seed2)
    if not synthetic.is_written_with(second, cfg2):
        synthetic2.write_dataset(second, cfg2, workers=2)
    return first, second


def precompute(dataset: str, root: Path, out: Path, backbone: Path) -> Path:
    from physllm.pipeline.job import PrecomputeConfig, run_precompute

    return run_precompute(PrecomputeConfig(dataset=dataset, root=root, cache_root=out / "cache",
                                           backbone=backbone)).path


def train_run(caches: list[Path], protocol: str, out: Path, epochs: int, recipe: dict) -> Path:
    from physllm.train.run import train
    from physllm.train.trainer import TrainConfig

    run = out / "runs" / (protocol.replace(">", "") + "-" + "-".join(f"{k}={v}" for k, v in sorted(recipe.items())))
    if (run / "best").is_dir() and (run / "done").is_file():
        return run / "best"
    # the demo's schedule: lr 1e-3 over a few hundred steps instead of the paper's 1e-4 over thousands
    result = train(TrainConfig(shards=[str(c) for c in caches], protocol=protocol, out=str(run),
                               epochs=epochs, lr=1e-3, resume=(run / "last").is_dir(), **recipe))
    (run / "done").write_text("")
    return result.best_checkpoint


def without_gate(checkpoint: Path) -> Path:
    """The same weights with the fallback off (gate_margin None)."""
    plain = checkpoint.parent / "best-no-gate"
    shutil.rmtree(plain, ignore_errors=True)
    shutil.copytree(checkpoint, plain)
    config = json.loads((plain / "config.json").read_text())
    (plain / "config.json").write_text(json.dumps({**config, "gate_margin": None}, indent=2))
    return plain


def evaluate(checkpoint: Path, caches: list[Path], window_seconds: float | None) -> dict:
    """{method: {fft: mae, peak: mae, n}} on the checkpoint's test split."""
    from physllm.evaluate import evaluate_checkpoint

    report = evaluate_checkpoint(checkpoint, caches, window_seconds=window_seconds)
    table = {}
    for hr in ("fft", "peak"):
        for row in report.select(hr, "all"):
            table.setdefault(row["method"], {})[hr] = row["mae"]
            table[row["method"]]["n"] = row["n"]
    return table


def run_protocol(caches: list[Path], protocol: str, out: Path, epochs: int, recipe: dict) -> dict:
    checkpoint = train_run(caches, protocol, out, epochs, recipe)
    margin = json.loads((checkpoint / "config.json").read_text()).get("gate_margin")
    results = {"gate_margin": margin}
    for unit, window in (("videos", None), ("10-s windows", 10.0)):
        gated = evaluate(checkpoint, caches, window)
        plain = evaluate(without_gate(checkpoint), caches, window)
        results[unit] = {**gated, "physllm (no gate)": plain["physllm"]}
    return results


def print_results(all_results: dict) -> None:
    print("\nMAE in bpm (FFT | peak intervals); n = test videos or windows")
    print("| protocol | unit | n | " + " | ".join(METHODS) + " |")
    print("|---|---|---|" + "---|" * len(METHODS))
    for protocol, results in all_results.items():
        for unit in ("videos", "10-s windows"):
            rows = results[unit]
            cells = [f"{rows[m]['fft']:.2f} \\| {rows[m]['peak']:.2f}" for m in METHODS]
            print(f"| {protocol} | {unit} | {rows['physnet']['n']} | " + " | ".join(cells) + " |")
    cross = [p for p in all_results if p != "synthetic-intra"]
    for unit in ("videos", "10-s windows"):
        for hr in ("fft", "peak"):
            mean = {m: sum(all_results[p][unit][m][hr] for p in cross) / max(len(cross), 1) for m in METHODS}
            print(f"mean over {len(cross)} cross-domain protocols, {unit}, {hr}: "
                  + ", ".join(f"{m} {v:.2f}" for m, v in mean.items()))
    print("gate margins: " + ", ".join(f"{p} {r['gate_margin']}" for p, r in all_results.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", type=Path, required=True, help="the frozen PhysNet (.pth), e.g. a released one")
    parser.add_argument("--subjects", type=int, default=48, help="renderer-1 subjects")
    parser.add_argument("--subjects2", type=int, default=16, help="renderer-2 subjects")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1, help="another seed than the demo's")
    parser.add_argument("--seed2", type=int, default=5, help="renderer 2's seed")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS))
    parser.add_argument("--recipe", type=json.loads, default={},
                        help='training settings beside the defaults, as JSON, e.g. {"augment": true}')
    parser.add_argument("--out", type=Path, default=Path("physllm-accuracy"))
    args = parser.parse_args()
    first, second = render(args.out, args.subjects, args.subjects2, args.seconds, args.seed, args.seed2)
    caches = [precompute("synthetic", first, args.out, args.backbone),
              precompute("synthetic2", second, args.out, args.backbone)]
    results = {}
    for protocol in args.protocols:
        results[protocol] = run_protocol(caches, protocol, args.out, args.epochs, args.recipe)
        (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print_results(results)


if __name__ == "__main__":
    main()
