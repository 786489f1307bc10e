"""How cost grows with the work: precompute, a training epoch, evaluate and predict at several sizes.

Prints one table: wall time and peak memory (resident set size, RSS) of each stage at each size,
then per stage the slope (seconds per unit of work between the smallest and the largest size)
and the memory ratio (largest / smallest). Each measurement runs in a fresh child process (this
script run with `--child`), so no size inherits another's peak; this process samples the RSS of
the child's whole process tree at `SAMPLE_HZ` and keeps the peak per role:

- driver: the child itself (precompute's driver; the trainer; evaluate; predict);
- ray workers: Ray's worker processes (`ray::…`: CueWorkers, decoders, idle workers), their sum and
  the largest one;
- ray system: Ray's own daemons (raylet, GCS, …), their sum.

RSS counts shared pages (torch's libraries, the object store's shared memory) once per process
that maps them, so the sums overstate what the machine holds; the ratios between sizes are what
to read.

The stages and the work each is given:
- precompute: `physllm precompute` (fast describer, the given backbone, a fresh cache) on
  `--minutes` of video rendered once by `write_synthetic_dataset` (subjects of
  `--video-seconds` each); the smaller sets are the first subjects of the largest (folders of
  links), so every size reads the same videos;
- train: one epoch of `physllm train` as the demo runs it (its protocol, batch, lr, MiniLM) on
  the demo's caches (`physllm demo`'s renders and `precompute`, 20 + 16 subjects × 30 s) and on
  copies of them `--scales` times as large: every shard of the demo's caches written again under
  new video and subject ids (the same cues; the reader sees more videos). Setup (model build),
  the epoch and the validation pass that ends it are timed apart;
- evaluate: `physllm evaluate` of the 1x run's checkpoint on the test split of the same caches;
- predict: `physllm predict` with that checkpoint on one rendered video of each of
  `--predict-minutes`; the model's load is timed and its memory read apart from the video.

    python bench/growth.py --backbone PATH [--out DIR] [--quick]
        [--minutes 5 20 80] [--scales 1 4 16] [--predict-minutes 1 30] [--stages precompute train evaluate predict]

`--quick` is a small run for development: 1 and 2 minutes, scales 1 and 2, predict 0.5 and 1.
Rendered videos, caches and runs are kept under `--out` and reused by a later run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("PHYSLLM_QUIET", "1")

BACKBONE = Path(__file__).resolve().parents[1] / "../shared/weights/rppg-toolbox/UBFC-rPPG_PhysNet_DiffNormalized.pth"
SAMPLE_HZ = 5.0  # RSS samples per second: a stage lasts seconds to minutes, its peak holds for longer than 0.2 s
ROLES = ("driver", "ray workers", "ray system")
MB = 1e6


# ---------------------------------------------------------------- memory of a process tree


@dataclass
class Peaks:
    """Peak RSS per role (bytes): of the role's sum, and of its largest single process."""

    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    largest: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    by_title: dict[str, int] = field(default_factory=dict)  # peak RSS of one process per title (ray::CueWorker, …)
    samples: int = 0

    def add(self, sample: dict[str, list[tuple[str, int]]]) -> None:
        self.samples += 1
        for role, procs in sample.items():
            self.total[role] = max(self.total[role], sum(rss for _, rss in procs))
            self.largest[role] = max([self.largest[role], *(rss for _, rss in procs)])
            for title, rss in procs:
                self.by_title[title] = max(self.by_title.get(title, 0), rss)


def role_of(cmdline: list[str], is_root: bool) -> str:
    """'driver' for the process measured, 'ray workers' for Ray's worker processes (their title
    is `ray::<task or actor>`; a fresh one runs default_worker.py), else 'ray system'."""
    if is_root:
        return "driver"
    text = " ".join(cmdline)
    return "ray workers" if text.startswith("ray::") or "default_worker.py" in text else "ray system"


def sample_tree(pid: int) -> dict[str, list[tuple[str, int]]]:
    """(title, RSS in bytes) of `pid` and each of its descendants, grouped by role."""
    import psutil

    out: dict[str, list[tuple[str, int]]] = {role: [] for role in ROLES}
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for proc in procs:
        try:
            cmdline = proc.cmdline()
            role = role_of(cmdline, proc.pid == pid)
            title = role if role == "driver" else (cmdline[0].split()[0] if cmdline else proc.name())
            out[role].append((Path(title).name, proc.memory_info().rss))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return out


def run_child(task: dict, log) -> tuple[dict, float, Peaks]:
    """Run `task` in a fresh `python bench/growth.py --child`, sampling its tree's RSS; return the
    child's result (the JSON on its last stdout line), its wall time and the peaks."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(task)]
    peaks, done = Peaks(), threading.Event()
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                             env=os.environ | {"PYTHONUNBUFFERED": "1"})

    def sampler():
        while not done.wait(1 / SAMPLE_HZ):
            peaks.add(sample_tree(child.pid))

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    stdout, _ = child.communicate()
    wall = time.perf_counter() - start
    done.set()
    thread.join()
    if child.returncode != 0:
        raise RuntimeError(f"child task {task['kind']} failed (exit {child.returncode}); see the log")
    return json.loads(stdout.strip().splitlines()[-1]), wall, peaks


# ---------------------------------------------------------------- the children (what is measured)


def own_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def child_precompute(task: dict) -> dict:
    import ray

    from physllm.pipeline.job import PrecomputeConfig, run_precompute

    cfg = PrecomputeConfig("synthetic", Path(task["root"]), cache_root=Path(task["cache_root"]),
                           backbone=Path(task["backbone"]))
    cpu = time.process_time()
    summary = run_precompute(cfg)
    cpu = time.process_time() - cpu
    ray.shutdown()
    return {"seconds": summary.seconds, "cpu_s": cpu, "clips": summary.computed_clips, "path": str(summary.path),
            "startup_s": summary.startup_seconds}


def child_demo_caches(task: dict) -> dict:
    """The demo's renders and caches, as `physllm demo` makes them (its own functions)."""
    import ray

    from physllm.demo import DemoConfig, precompute, render_data

    cfg = DemoConfig(out=Path(task["out"]), backbone=Path(task["backbone"]))
    render_data(cfg)
    paths = [str(s.path) for s in precompute(cfg)]
    ray.shutdown()
    return {"caches": paths}


def child_train(task: dict) -> dict:
    """Setup, one training epoch and the validation that ends it, timed apart; the checkpoint saved."""
    from physllm.demo import DemoConfig
    from physllm.train.trainer import BEST, TrainConfig, TrainRecipe
    from physllm.train.validation import validation_metrics

    demo = DemoConfig()
    cfg = TrainConfig(shards=task["shards"], out=task["out"], protocol=demo.protocol, llm=demo.llm,
                      epochs=1, batch_size=demo.batch_size, lr=demo.lr, seed=demo.seed)
    recipe = TrainRecipe(cfg)
    t = time.perf_counter()
    recipe.setup()
    setup_s, setup_rss = time.perf_counter() - t, own_rss()
    t, cpu = time.perf_counter(), time.process_time()
    metrics, _ = recipe.train_epoch()
    epoch_s, cpu = time.perf_counter() - t, time.process_time() - cpu
    recipe.epoch = 1
    t = time.perf_counter()
    metrics |= validation_metrics(recipe.model, recipe.val_stream, recipe.shard_set, recipe.splits.val,
                                  recipe.device, cfg.gate)
    validate_s = time.perf_counter() - t
    recipe.save_checkpoint(BEST, metrics)
    recipe.cleanup()
    return {"setup_s": setup_s, "setup_rss": setup_rss, "epoch_s": epoch_s, "cpu_s": cpu, "validate_s": validate_s,
            "clips": recipe.train_stream.num_clips, "val_videos": len(recipe.splits.val),
            "checkpoint": str(Path(task["out"]) / BEST)}


def child_evaluate(task: dict) -> dict:
    import contextlib
    import io

    from physllm.demo import DemoConfig
    from physllm.evaluate import EvaluateConfig, evaluate_checkpoint
    from physllm.shards.reader import open_shards
    from physllm.train.data import split_videos

    t, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):  # the tables: stdout is this child's result line
        report = evaluate_checkpoint(EvaluateConfig(Path(task["checkpoint"]), [Path(p) for p in task["shards"]],
                                                    out=Path(task["out"])))
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    shard_set = open_shards([Path(p) for p in task["shards"]])
    test = split_videos(shard_set, DemoConfig().protocol).test
    return {"seconds": seconds, "cpu_s": cpu, "videos": report.settings["videos"],
            "clips": sum(shard_set.video(v).clips for v in test)}


def child_predict(task: dict) -> dict:
    from physllm.predict import PhysLLMEstimator, predict_video

    t = time.perf_counter()
    estimator = PhysLLMEstimator(Path(task["checkpoint"]), device="cpu")
    load_s, load_rss = time.perf_counter() - t, own_rss()
    t, cpu = time.perf_counter(), time.process_time()
    pred = predict_video(Path(task["video"]), estimator)
    return {"load_s": load_s, "load_rss": load_rss, "seconds": time.perf_counter() - t,
            "cpu_s": time.process_time() - cpu,
            "video_s": pred.duration_s, "hr": pred.hr_bpm}


CHILDREN = {"precompute": child_precompute, "demo_caches": child_demo_caches, "train": child_train,
            "evaluate": child_evaluate, "predict": child_predict}


# ---------------------------------------------------------------- preparing the inputs (not measured)


def render_pool(out: Path, subjects: int, seconds: float) -> Path:
    """`subjects` rendered videos of `seconds` each, rendered once (kept and reused)."""
    from physllm.render.synthetic import SynthConfig, is_written_with, write_synthetic_dataset

    root = out / f"videos-{subjects}x{seconds:g}s"
    cfg = SynthConfig(num_subjects=subjects, seconds=seconds)
    if not is_written_with(root, cfg):
        write_synthetic_dataset(root, cfg, workers=2)
    return root


def subset(pool: Path, subjects: int, out: Path) -> Path:
    """A dataset folder holding the first `subjects` videos of `pool` (links, and a trimmed
    metadata.json): the same videos, fewer of them."""
    root = out / f"{pool.name}-first{subjects}"
    if (root / "metadata.json").is_file():
        return root
    meta = json.loads((pool / "metadata.json").read_text())
    names = [f"subject{i + 1}" for i in range(subjects)]
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (root / name).exists():
            (root / name).symlink_to((pool / name).resolve(), target_is_directory=True)
    meta["subjects"] = {n: meta["subjects"][n] for n in names}
    (root / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    return root


def replicate_cache(cache_path: Path, copies: int, out_root: Path) -> Path:
    """The cache at `cache_path` with every video written `copies` times, as `<id>~c<k>` of subject
    `<subject>~c<k>` (the cues unchanged): a cache `copies` times as large for the reader."""
    import numpy as np
    import pyarrow.parquet as pq

    from physllm.shards.cache import load_cache, open_cache
    from physllm.shards.schema import decode_file_metadata, to_numpy
    from physllm.shards.writer import CALLER_METADATA, write_video_shard

    source = load_cache(cache_path)
    target = open_cache(out_root, source.dataset, source.settings | {"growth_copies": copies})
    if len(target.manifest.done()) == copies * len(source.manifest.done()):
        return target.path
    for video_id, entry in sorted(source.manifest.done().items()):
        table = pq.read_table(source.shards_dir / entry["shard"])
        meta = {k: v for k, v in decode_file_metadata(table.schema.metadata).items() if k in CALLER_METADATA}
        columns = {name: to_numpy(table.column(name)) for name in table.column_names}
        rows = [{name: values[i] for name, values in columns.items()} for i in range(table.num_rows)]
        for k in range(copies):
            copy_id, subject = f"{video_id}~c{k}", f"{entry['subject']}~c{k}"
            copy = [row | {"video_id": copy_id, "subject": subject,
                           "hr": None if row["hr"] is None or np.isnan(row["hr"]) else row["hr"]} for row in rows]
            write_video_shard(target, copy_id, copy, meta)
    return target.path


# ---------------------------------------------------------------- the table


@dataclass
class Row:
    stage: str
    size: str
    work: float  # units of the stage's work
    unit: str
    seconds: float  # the timed part (see `note`)
    peaks: Peaks
    note: str = ""
    base_rss: int = 0  # RSS of the driver once its model is loaded (train, predict); 0: not read

    def cells(self) -> list[str]:
        mb = lambda b: f"{b / MB:7.0f}"  # noqa: E731
        loaded = mb(self.base_rss) if self.base_rss else "      —"
        workers = (f"{mb(self.peaks.total['ray workers'])} ({self.peaks.largest['ray workers'] / MB:.0f})"
                   if self.peaks.total["ray workers"] else "—")
        system = mb(self.peaks.total["ray system"]) if self.peaks.total["ray system"] else "      —"
        return [self.stage, self.size, f"{self.work:g} {self.unit}", f"{self.seconds:8.1f}",
                f"{self.seconds / self.work:.3g}", mb(self.peaks.total["driver"]), loaded,
                workers, system, self.note]


HEADER = ["stage", "size", "work", "time s", "s/unit", "driver MB", "loaded MB", "workers MB (largest)",
          "ray sys MB", "note"]


def print_table(rows: list[Row]) -> None:
    cells = [HEADER] + [r.cells() for r in rows]
    widths = [max(len(c[i].strip()) for c in cells) for i in range(len(HEADER))]
    for i, line in enumerate(cells):
        print("  ".join(c.strip().ljust(w) if j < 3 or j == len(HEADER) - 1 else c.strip().rjust(w)
                        for j, (c, w) in enumerate(zip(line, widths))).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def slope(rows: list[Row]) -> tuple[float, float, dict[str, float]]:
    """(seconds per unit between the smallest and the largest size, the same at the smallest alone,
    peak memory largest / smallest per role)."""
    small, large = min(rows, key=lambda r: r.work), max(rows, key=lambda r: r.work)
    marginal = (large.seconds - small.seconds) / (large.work - small.work) if large.work > small.work else float("nan")
    ratios = {role: large.peaks.total[role] / small.peaks.total[role]
              for role in ROLES if small.peaks.total[role] and large.peaks.total[role]}
    return marginal, small.seconds / small.work, ratios


def print_slopes(rows: list[Row]) -> None:
    print("\nslopes: time per unit of work between the smallest and largest size (marginal) and at the "
          "smallest; peak memory largest/smallest")
    for stage in dict.fromkeys(r.stage for r in rows):
        mine = [r for r in rows if r.stage == stage]
        if len(mine) < 2:
            continue
        marginal, first, ratios = slope(mine)
        unit = mine[0].unit.rstrip("s") if mine[0].unit.endswith("s") else mine[0].unit
        memory = ", ".join(f"{role} x{ratio:.2f}" for role, ratio in ratios.items())
        print(f"  {stage:18s} {marginal:.3g} s per {unit} (at the smallest {first:.3g}); "
              f"work x{max(r.work for r in mine) / min(r.work for r in mine):g}; memory {memory}")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--backbone", type=Path, default=BACKBONE, help="a PhysNet .pth (default: the released UBFC-rPPG one)")
    parser.add_argument("--out", type=Path, default=Path("runs/growth"), help="renders, caches, runs and growth.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 20, 80], help="precompute sizes, minutes of video")
    parser.add_argument("--video-seconds", type=float, default=60.0, help="length of each rendered precompute video")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16], help="training/evaluate caches, times the demo's")
    parser.add_argument("--predict-minutes", type=float, nargs="+", default=[1, 30])
    parser.add_argument("--stages", nargs="+", default=["precompute", "train", "evaluate", "predict"],
                        choices=["precompute", "train", "evaluate", "predict"])
    args = parser.parse_args()
    if args.child:
        task = json.loads(args.child)
        print(json.dumps(CHILDREN[task["kind"]](task)))
        return
    if args.quick:
        args.minutes, args.scales, args.predict_minutes = [1, 2], [1, 2], [0.5, 1]
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    backbone = args.backbone.resolve()
    log = (out / "children.log").open("a")
    rows: list[Row] = []
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start; children log to "
          f"{out / 'children.log'}", flush=True)

    if "precompute" in args.stages:
        subjects = [max(1, round(m * 60 / args.video_seconds)) for m in args.minutes]
        pool = render_pool(out / "videos", max(subjects), args.video_seconds)
        for n in subjects:
            root = pool if n == max(subjects) else subset(pool, n, out / "videos")
            cache_root = out / "precompute-cache" / f"{n}-{time.time_ns()}"
            result, wall, peaks = run_child({"kind": "precompute", "root": str(root), "cache_root": str(cache_root),
                                             "backbone": str(backbone)}, log)
            shutil.rmtree(cache_root, ignore_errors=True)
            minutes = n * args.video_seconds / 60
            rows.append(Row("precompute", f"{minutes:g} min video", minutes, "min", result["seconds"], peaks,
                            f"{result['clips']} clips; Ray start-up and first part {result['startup_s']:.1f} s; "
                            f"driver CPU {result['cpu_s']:.1f} s"))
            print_progress(rows[-1])

    checkpoint = None
    if {"train", "evaluate", "predict"} & set(args.stages):
        demo, _, _ = run_child({"kind": "demo_caches", "out": str(out / "demo"), "backbone": str(backbone)}, log)
        scaled = {k: [str(replicate_cache(Path(c), k, out / "scaled" / f"x{k}")) for c in demo["caches"]]
                  for k in args.scales}
        for k in args.scales:
            run_dir = out / "train" / f"x{k}"
            shutil.rmtree(run_dir, ignore_errors=True)
            if "train" not in args.stages and k != min(args.scales):
                continue
            result, wall, peaks = run_child({"kind": "train", "shards": scaled[k], "out": str(run_dir)}, log)
            checkpoint = checkpoint or result["checkpoint"]
            if "train" in args.stages:
                rows.append(Row("train epoch", f"{k}x demo cache", result["clips"], "clips", result["epoch_s"],
                                peaks, f"CPU {result['cpu_s']:.1f} s; setup {result['setup_s']:.1f} s; validation ({result['val_videos']} videos) "
                                       f"{result['validate_s']:.1f} s", result["setup_rss"]))
                print_progress(rows[-1])
        if "evaluate" in args.stages:
            for k in args.scales:
                result, wall, peaks = run_child({"kind": "evaluate", "checkpoint": checkpoint, "shards": scaled[k],
                                                 "out": str(out / "evaluate" / f"x{k}")}, log)
                rows.append(Row("evaluate", f"{k}x demo cache", result["clips"], "clips", result["seconds"], peaks,
                                f"CPU {result['cpu_s']:.1f} s; {result['videos']} test videos, model load included"))
                print_progress(rows[-1])

    if "predict" in args.stages:
        for minutes in args.predict_minutes:
            video = render_one(out / "videos", minutes)
            result, wall, peaks = run_child({"kind": "predict", "checkpoint": checkpoint, "video": str(video)}, log)
            rows.append(Row("predict (PhysLLM)", f"{minutes:g} min video", minutes, "min", result["seconds"], peaks,
                            f"CPU {result['cpu_s']:.1f} s; {result['video_s'] / result['seconds']:.1f} s of video/s; model load "
                            f"{result['load_s']:.1f} s apart", result["load_rss"]))
            print_progress(rows[-1])

    print(f"\nload average {os.getloadavg()[1]:.2f} over the last 5 minutes (2 = both cores busy)")
    print_table(rows)
    print_slopes(rows)
    (out / "growth.json").write_text(json.dumps([{"stage": r.stage, "size": r.size, "work": r.work, "unit": r.unit,
                                                 "seconds": r.seconds, "peak_total": r.peaks.total,
                                                 "peak_largest": r.peaks.largest, "peak_by_title": r.peaks.by_title, "loaded_rss": r.base_rss,
                                                 "note": r.note} for r in rows], indent=2))


def render_one(videos: Path, minutes: float) -> Path:
    """One easy rendered video of `minutes`, kept under `videos` (as bench/predict.py renders one)."""
    from physllm.render.synthetic import SynthConfig, is_written_with, write_synthetic_dataset

    root = videos / f"predict-{minutes * 60:g}s"
    cfg = SynthConfig(num_subjects=1, seconds=minutes * 60, easy_fraction=1.0)
    if not is_written_with(root, cfg):
        write_synthetic_dataset(root, cfg)
    return root / "subject1" / "vid.avi"


def print_progress(row: Row) -> None:
    print("  " + " | ".join(c.strip() for c in row.cells()), flush=True)
    others = {t: b for t, b in row.peaks.by_title.items() if t != "driver"}
    if others:
        print("    peak per process title: " + ", ".join(f"{t} {b / MB:.0f} MB" for t, b in
                                                     sorted(others.items(), key=lambda tb: -tb[1])), flush=True)


if __name__ == "__main__":
    main()
