"""Heart-rate accuracy across generators and on real video: PhysLLM beside its own inputs (the
same frozen PhysNet alone, POS) and CHROM, on the same test videos, whole videos by FFT.

It renders the two synthetic sets (renderer 1, `physllm datasets synth`, and the independently
written renderer 2, `physllm.render.synthetic2`), precomputes both with one frozen PhysNet,
then for each protocol trains PhysLLM and its ablations and evaluates the test split:

    synthetic->synthetic2-shiftval   trained on renderer 1, chosen on half of renderer 2, tested
                                     on the other half (the demo's protocol)
    synthetic2->synthetic-shiftval   the other direction (leave one generator out, both ways)

Variants (each a training run on the same caches and schedule):
    physllm                 the defaults: chrominance wave, trust gains, corruption, the per-video fallback
    physllm (no gate)       the same weights, the fallback off
    physllm (paper inputs)  PhysNet's wave, features and text cues only (no chrominance, no fallback)
    physllm (no text cues)  the task prompt only: no scene description, no statistics
    physllm (no APL)        no prompt tokens at all: the LLM reads the vision and signal tokens (the paper's "w/o APL")
    physllm (random LLM)    the LLM's architecture with random weights (the paper's "Sundial" row)

Every table has PhysNet alone, POS and CHROM on the same videos, the test videos split by trust
pattern (which of PhysNet and POS reads the video within 5 bpm), and, with --real, the real clips
read by `physllm predict` with each checkpoint. With `--train-seeds 0 1 2` every variant is trained
once per seed (data order, initialisation, dropout): the tables then give each video's error
averaged over the seeds, and a last table each seed's MAE, since on 8-10 test videos one
checkpoint's choices move a row by whole bpm. Every stage is cached under --out; a second run only
prints the tables.

    python bench/accuracy.py --backbone <rPPG-Toolbox weights>/UBFC-rPPG_PhysNet_DiffNormalized.pth \
        --out /tmp/physllm-accuracy --real <vitallens 0.2.2 source>/examples
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

PROTOCOLS = ("synthetic->synthetic2-shiftval", "synthetic2->synthetic-shiftval")
INPUTS = ("physnet", "pos", "chrom")
RIGHT_BPM = 5.0  # a method "reads" a video when within this of the truth (trust-pattern groups)


RANDOM_LLM = "random-minilm"  # a folder under --out, made by `random_llm`
VARIANTS = {  # training settings of each variant beside the defaults (module doc)
    "physllm": {},
    "physllm (paper inputs)": {"model": {"chrominance": False}, "gate": False},
    "physllm (no text cues)": {"model": {"apl": {"cue_types": ["task"]}}},
    "physllm (no APL)": {"model": {"apl": {"cue_types": []}}},
    "physllm (random LLM)": {"llm": RANDOM_LLM},
}


def random_llm(folder: Path) -> Path:
    """MiniLM's architecture and tokenizer with freshly initialised weights (seed 0)."""
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from physllm.model.llm import resolve_llm

    source = resolve_llm("minilm")
    torch.manual_seed(0)
    AutoModel.from_config(AutoConfig.from_pretrained(source)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def render(out: Path, subjects: int, subjects2: int, seconds: float, seed: int, seed2: int) -> tuple[Path, Path]:
    from physllm.render import synthetic, synthetic2

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


def train_run(caches: list[Path], protocol: str, run: Path, epochs: int, seed: int, recipe: dict) -> Path:
    from physllm.train.run import train
    from physllm.config import build
    from physllm.train.trainer import TrainConfig

    if (run / "best").is_dir() and (run / "done").is_file():
        return run / "best"
    # the demo's schedule: lr 1e-3 over a few hundred steps instead of the paper's 1e-4 over thousands
    result = train(build(TrainConfig, dict(shards=[str(c) for c in caches], protocol=protocol, out=str(run),
                                           epochs=epochs, lr=1e-3, seed=seed, resume=(run / "last").is_dir(),
                                           **recipe)))
    (run / "done").write_text("")
    return result.best_checkpoint


def without_gate(checkpoint: Path) -> Path:
    """The same weights with the fallback off (gate_tolerance_bpm None)."""
    plain = checkpoint.parent / "best-no-gate"
    shutil.rmtree(plain, ignore_errors=True)
    shutil.copytree(checkpoint, plain)
    config = json.loads((plain / "config.json").read_text())
    (plain / "config.json").write_text(json.dumps({**config, "gate_tolerance_bpm": None}, indent=2))
    return plain


def per_video_errors(checkpoint: Path, caches: list[Path]) -> dict[str, dict[str, float]]:
    """{video: {method: |HR − truth| (FFT, whole video)}} on the checkpoint's test split."""
    from physllm.evaluate import EvaluateConfig, evaluate_checkpoint

    report = evaluate_checkpoint(EvaluateConfig(checkpoint, caches, baselines=["pos", "chrom"]), write_files=False)
    errors: dict[str, dict[str, float]] = {}
    for row in report.per_video:
        errors.setdefault(row["video_id"], {})[row["method"]] = abs(row["hr_fft"] - row["true_hr_fft"])
    return errors


def real_errors(checkpoint: Path, backbone: Path, real: Path) -> dict[str, dict[str, float]]:
    """{clip: {method: |HR − truth|}} on vitallens' example clips, read by `physllm predict`."""
    from physllm import pulse
    from physllm.predict import EstimatorConfig, make_estimator, predict_video

    configs = {"physllm": EstimatorConfig(checkpoint=checkpoint, backbone=str(backbone)),
               "physnet": EstimatorConfig(backbone=str(backbone)),
               **{b: EstimatorConfig(baseline=b) for b in ("pos", "chrom")}}
    estimators = {name: make_estimator(cfg) for name, cfg in configs.items()}
    errors = {}
    for video in sorted(real.glob("sample_video_*.mp4")):
        with (real / video.name.replace("video", "vitals").replace(".mp4", ".csv")).open() as f:
            ppg = [float(row["ppg"]) for row in csv.DictReader(f)]
        truth = pulse.hr_fft(pulse.to_pulse(ppg, 30.0), 30.0)
        errors[video.stem] = {name: abs(predict_video(video, est).hr_bpm - truth) for name, est in estimators.items()}
    return errors


def trust_group(errors: dict[str, float]) -> str:
    physnet, pos = errors["physnet"] <= RIGHT_BPM, errors["pos"] <= RIGHT_BPM
    return {(True, True): "both right", (True, False): "PhysNet only", (False, True): "POS only",
            (False, False): "both wrong"}[(physnet, pos)]


def seeded(label: str, seed: int) -> str:
    """A variant's key in the results: its name for seed 0 (as before seeds), 'name@seed' else."""
    return label if seed == 0 else f"{label}@{seed}"


def unseeded(key: str) -> str:
    return key.rsplit("@", 1)[0]


def run_protocol(caches: list[Path], protocol: str, out: Path, epochs: int, backbone: Path,
                 real: Path | None, only: list[str], seeds: list[int]) -> dict:
    """{"videos": {video: {method: error}}, "real": {clip: {method: error}}} for every variant and
    training seed (`seeded` keys)."""
    videos: dict[str, dict[str, float]] = {}
    clips: dict[str, dict[str, float]] = {}
    for seed, name in ((seed, name) for seed in seeds for name in only):
        recipe = VARIANTS[name]
        if recipe.get("llm") == RANDOM_LLM:
            recipe = {**recipe, "llm": str(random_llm(out / RANDOM_LLM))}
        run = out / "runs" / seeded(f"{protocol.replace('>', '')}-{name.replace(' ', '_').strip('()')}", seed)
        checkpoint = train_run(caches, protocol, run, epochs, seed, recipe)
        readings = {seeded(name, seed): checkpoint}
        if name == "physllm":
            readings[seeded("physllm (no gate)", seed)] = without_gate(checkpoint)
        for label, weights in readings.items():
            for video, errors in per_video_errors(weights, caches).items():
                videos.setdefault(video, {k: v for k, v in errors.items() if k in INPUTS})[label] = errors["physllm"]
            if real is not None:
                for clip, errors in real_errors(weights, backbone, real).items():
                    clips.setdefault(clip, {k: v for k, v in errors.items() if k in INPUTS})[label] = errors["physllm"]
    return {"videos": videos, "real": clips}


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def seed_means(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each video's error per method averaged over the training seeds it was read with."""
    merged = {}
    for video, errors in rows.items():
        by_method: dict[str, list[float]] = {}
        for key, error in errors.items():
            by_method.setdefault(unseeded(key), []).append(error)
        merged[video] = {method: mean(values) for method, values in by_method.items()}
    return merged


def print_seeds(title: str, rows: dict[str, dict[str, float]], methods: list[str]) -> None:
    """Each variant's MAE over all videos, per training seed."""
    keys = sorted({key for errors in rows.values() for key in errors if unseeded(key) in methods and key not in INPUTS})
    seeds = sorted({int(key.rsplit("@", 1)[1]) if "@" in key else 0 for key in keys})
    print(f"\n{title}, per training seed: MAE in bpm over all {len(rows)} videos")
    print("| variant | " + " | ".join(f"seed {s}" for s in seeds) + " | min-max |")
    print("|---|" + "---|" * (len(seeds) + 1))
    for method in (m for m in methods if m not in INPUTS):
        maes = [mean([e[seeded(method, s)] for e in rows.values() if seeded(method, s) in e]) for s in seeds]
        print(f"| {method} | " + " | ".join(f"{m:.2f}" for m in maes) + f" | {min(maes):.2f}-{max(maes):.2f} |")


def print_table(title: str, rows: dict[str, dict[str, float]], methods: list[str]) -> None:
    rows = seed_means(rows)
    print(f"\n{title}: MAE in bpm, whole videos, FFT (n = videos)")
    print("| set | n | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    groups = {"all": list(rows.values())}
    for errors in rows.values():
        groups.setdefault(trust_group(errors), []).append(errors)
    for group, members in groups.items():
        cells = [f"{mean([m[k] for m in members if k in m]):.2f}" for k in methods]
        print(f"| {group} | {len(members)} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", type=Path, required=True, help="the frozen PhysNet (.pth), e.g. a released one")
    parser.add_argument("--subjects", type=int, default=20, help="renderer-1 subjects (the demo's)")
    parser.add_argument("--subjects2", type=int, default=16, help="renderer-2 subjects (the demo's)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--epochs", type=int, default=12, help="the demo's")
    parser.add_argument("--seed", type=int, default=0, help="renderer 1's seed")
    parser.add_argument("--seed2", type=int, default=0, help="renderer 2's seed")
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0],
                        help="train every variant once per seed (module doc)")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS))
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS),
                        help="a subset of the variants (module doc)")
    parser.add_argument("--real", type=Path, default=None,
                        help="a folder of sample_video_N.mp4 + sample_vitals_N.csv (vitallens 0.2.2's examples)")
    parser.add_argument("--out", type=Path, default=Path("physllm-accuracy"))
    args = parser.parse_args()
    first, second = render(args.out, args.subjects, args.subjects2, args.seconds, args.seed, args.seed2)
    caches = [precompute("synthetic", first, args.out, args.backbone),
              precompute("synthetic2", second, args.out, args.backbone)]
    only = args.variants or list(VARIANTS)
    saved = args.out / "results.json"
    results = json.loads(saved.read_text()) if saved.is_file() else {}  # earlier protocols stay
    for protocol in args.protocols:
        results[protocol] = run_protocol(caches, protocol, args.out, args.epochs, args.backbone, args.real, only,
                                         args.train_seeds)
        saved.write_text(json.dumps(results, indent=2))
    labels = [v for v in VARIANTS if v in only]
    methods = [labels[0], *(["physllm (no gate)"] if "physllm" in only else []), *labels[1:], *INPUTS]
    for protocol in args.protocols:
        result = results[protocol]
        print_table(protocol, result["videos"], methods)
        if result["real"]:
            print_table(f"{protocol} checkpoints on the real clips", result["real"], methods)
        if len(args.train_seeds) > 1:
            print_seeds(protocol, result["videos"], methods)
            if result["real"]:
                print_seeds(f"{protocol} checkpoints on the real clips", result["real"], methods)


if __name__ == "__main__":
    main()
