"""Whole-video HR error per recording condition of both synthetic renderers, per method: the
released rPPG-Toolbox PhysNets (UBFC-rPPG and PURE checkpoints, DiffNormalized), POS and CHROM.

Each condition is rendered for the same few subjects (same face, pulse and skin tone; only the
condition differs), so a column compares like with like. Renderer 1 (render/synthetic.py):
the easy scenario, then one MMPD-like departure from it per condition. Renderer 2
(render/synthetic2.py): a still subject with a smooth exposure loop and a fixed white
balance, then one camera problem per condition. Every video is read once into clips
(pipeline.clips, the front end of precompute and predict); each method's whole-video HR is read
by FFT against the ground truth's, as `physllm evaluate` reads it (evaluation.report).

    python bench/conditions.py --out /tmp/physllm-conditions
    ... --renderers 2 --methods ubfc pos --videos 2 --seconds 12

Renders and each video's HRs are cached under --out: point it at a new folder after changing a
renderer. `--set NAME=EXPR` overrides a renderer constant for one run (EXPR is evaluated among
the face renderer's names), to measure what a parameter does:

    ... --set LAMP_POSE_GAIN=0 'LAMP_RGB_RANGE=(AMBIENT_RGB, AMBIENT_RGB)'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from physllm.classic_methods import BASELINES
from physllm.evaluation.report import VideoSignals, evaluate_video, join_clips
from physllm.render import face, synthetic, synthetic2
from physllm.render.face import EASY, SKIN_TONES, Scenario

WEIGHTS = Path("/work/shared/weights/rppg-toolbox")
PHYSNETS = {"ubfc": "UBFC-rPPG_PhysNet_DiffNormalized.pth", "pure": "PURE_PhysNet_DiffNormalized.pth"}
METHODS = ("ubfc", "pure", "pos", "chrom")
HEADERS = {"ubfc": "PhysNet UBFC", "pure": "PhysNet PURE", "pos": "POS", "chrom": "CHROM"}

CONDITIONS_1 = {"easy": {}, "dim": {"light": "dim"}, "flicker": {"light": "flicker"}, "step": {"light": "step"},
                "rotation": {"motion": "rotation"}, "translation": {"motion": "translation"},
                "talking": {"motion": "talking"}, "walking": {"motion": "walking"},
                "noise+jpeg": {"noise": "high", "compression": "low"}}
EASY_2 = {"flicker": "none", "exposure": "auto", "white_balance": "fixed", "motion": "still"}
CONDITIONS_2 = {"easy": {}, "flicker": {"flicker": "aliased"}, "exposure steps": {"exposure": "steps"},
                "wb hunting": {"white_balance": "hunting"}, "sway": {"motion": "sway"}}


def render_one(folder: Path, renderer: int, condition: str, index: int, seconds: float) -> None:
    """Subject `index` under `condition`; its skin tone cycles with the index."""
    if renderer == 1:
        cfg = synthetic.SynthConfig(num_subjects=index + 1, seconds=seconds)
        labels = {**EASY, "skin_tone": list(SKIN_TONES)[index % len(SKIN_TONES)], **CONDITIONS_1[condition]}
        synthetic.render_subject(folder, cfg, index, Scenario(**labels))
    else:
        cfg = synthetic2.Synth2Config(num_subjects=index + 1, seconds=seconds)
        labels = {**EASY_2, "skin_tone": list(synthetic2.MELANIN)[index % len(synthetic2.MELANIN)],
                  **CONDITIONS_2[condition]}
        synthetic2.render_subject(folder, cfg, index, synthetic2.Conditions(**labels))


def read_signals(folder: Path, runners: dict, baselines: list[str]) -> VideoSignals:
    """One video through the clip front end, then every method on the same clips."""
    from physllm.data_catalog.video_io import open_video_timed
    from physllm.pipeline.clips import ClipConfig, iter_clips

    video = folder / "vid.avi"
    ppg = np.array(folder.joinpath("ground_truth.txt").read_text().splitlines()[0].split(), dtype=np.float64)
    cfg = ClipConfig()
    clips = list(iter_clips(open_video_timed(video, None), ppg, cfg, video_id=str(folder)))
    first = [c.first_frame for c in clips]
    rgb = join_clips(first, [c.rgb_mean for c in clips]).astype(np.float64)
    methods = {name: join_clips(first, list(runner.run(np.stack([c.frames for c in clips])).wave))
               for name, runner in runners.items()}
    methods |= {name: BASELINES[name](rgb, cfg.fps) for name in baselines}
    return VideoSignals(str(folder), "synthetic", cfg.fps, {}, join_clips(first, [c.ppg for c in clips]),
                        methods, set(runners))


def video_errors(folder: Path, methods: list[str], runners: dict) -> dict[str, float]:
    """|HR − true HR| (bpm) per method over the whole video; cached in the video's folder."""
    cache = folder / "errors.json"
    errors = json.loads(cache.read_text()) if cache.is_file() else {}
    missing = [m for m in methods if m not in errors]
    if missing:
        signals = read_signals(folder, {m: runners[m] for m in missing if m in PHYSNETS},
                               [m for m in missing if m in BASELINES])
        errors |= {row["method"]: abs(row["hr_fft"] - row["true_hr_fft"]) for row in evaluate_video(signals)}
        cache.write_text(json.dumps(errors, indent=1))
    return {m: errors[m] for m in methods}


def make_runners(methods: list[str]) -> dict:
    from physllm.pipeline.backbone import BackboneRunner

    return {m: BackboneRunner(WEIGHTS / PHYSNETS[m], device="cpu") for m in methods if m in PHYSNETS}


def table(out: Path, renderers: list[int], conditions: list[str] | None, methods: list[str], videos: int,
          seconds: float) -> str:
    """The markdown table: one row per (renderer, condition), MAE (bpm) per method."""
    runners = make_runners(methods)
    lines = ["| renderer | condition | " + " | ".join(HEADERS[m] for m in methods) + " |",
             "|---|---|" + "---|" * len(methods)]
    for renderer in renderers:
        for condition in (CONDITIONS_1 if renderer == 1 else CONDITIONS_2):
            if conditions and condition not in conditions:
                continue
            rows = []
            for index in range(videos):
                folder = out / f"renderer{renderer}" / condition.replace(" ", "_") / f"subject{index}"
                if not (folder / "ground_truth.txt").is_file():
                    render_one(folder, renderer, condition, index, seconds)
                rows.append(video_errors(folder, methods, runners))
            mae = {m: np.mean([r[m] for r in rows]) for m in methods}
            lines.append(f"| {renderer} | {condition} | " + " | ".join(f"{mae[m]:.1f}" for m in methods) + " |")
    return "\n".join(lines)


def override(settings: list[str]) -> None:
    """Set NAME to EXPR in every renderer module that holds NAME (synthetic imports some by name)."""
    for setting in settings:
        name, expr = setting.split("=", 1)
        holders = [m for m in (synthetic, face, synthetic2) if hasattr(m, name)]
        if not holders:
            raise SystemExit(f"--set {name}: no renderer constant of that name")
        value = eval(expr, vars(face))  # noqa: S307 - the command line's own expression
        for module in holders:
            setattr(module, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="renders and per-video errors (cache)")
    parser.add_argument("--renderers", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument("--conditions", nargs="+", help="only these conditions (default: all)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--videos", type=int, default=3, help="subjects per condition")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=EXPR", help="override renderer constants")
    args = parser.parse_args()
    override(args.set)
    print(table(args.out, args.renderers, args.conditions, args.methods, args.videos, args.seconds))


if __name__ == "__main__":
    main()
