"""Per-video evaluation as the rPPG field does it, and the files that report it (the CLI's
tables of it: physllm/tables.py).

Follows rPPG-Toolbox `evaluation/post_process.py::calculate_metric_per_video` and
`evaluation/metrics.py::calculate_metrics`: per video, join the clip outputs in frame order,
integrate DiffNormalized outputs, detrend, band-pass (`physllm.pulse.to_pulse`); HR from the
periodogram peak (FFT) and from peak detection; the ground-truth HR the same way from the label
PPG; SNR of the method's pulse around the ground-truth HR (its fundamental and 2nd harmonic).
Metrics over videos (`metrics.hr_metrics`) per method, for all videos, per dataset and per
scenario label found in the videos' metadata (skin tone, light, motion, …), and per region read
(`roi`: face, skin where no face was found, none for a skin crop).
Vitals beyond HR (`physllm.vitals`: SDNN, RMSSD, pNN50, breathing rate) are read the same way
from each method's wave and from the label PPG; their errors are taken over the windows where
both were read, and how many each refused is counted.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from physllm import pulse, vitals
from physllm.classic_methods import BASELINES
from physllm.errors import CacheError
from physllm.evaluation.metrics import hr_metrics, mean_se
from physllm.shards.schema import to_numpy

METHOD_ORDER = ("physllm", "physnet", "pos", "chrom", "green")  # tables list methods in this order
HR_METHODS = ("fft", "peak")
MIN_FRAMES = 9  # toolbox: windows shorter than filtfilt's pad length (9) are ignored
MAX_SCENARIO_LEVELS = 12  # a metadata key with more distinct values is an id, not a scenario
VITALS = {"sdnn_ms": "hrv_flag", "rmssd_ms": "hrv_flag", "pnn50": "hrv_flag",
          "breathing_rpm": "breathing_flag"}  # each vital and the flag that says whether it was read


@dataclass
class VideoSignals:
    """Everything needed to evaluate one video: the truth PPG and each method's raw output."""

    video_id: str
    dataset: str
    fps: float
    metadata: dict
    truth_ppg: np.ndarray  # (T,) raw ground-truth PPG at frame times
    methods: dict[str, np.ndarray]  # method → (T,) waveform as the method outputs it
    diff_methods: set[str] = field(default_factory=set)  # outputs in the DiffNormalized domain
    rgb: np.ndarray | None = None  # (T, 3) mean skin colour per frame, where the shards hold it
    background: np.ndarray | None = None  # (T, 3) mean colour outside the face per frame (NaN: none)


@dataclass
class EvaluationReport:
    """`per_video`: one row per (video, window, method); `metrics`: one row per
    (method, hr_method, group, level), group being "all", "dataset" or a scenario key."""

    per_video: list[dict]
    metrics: list[dict]
    methods: list[str]
    scenario_keys: list[str]
    settings: dict
    vitals: list[dict] = field(default_factory=list)  # one row per (method, vital): errors vs the truth's

    def select(self, hr_method: str = "fft", group: str = "all") -> list[dict]:
        return [m for m in self.metrics if m["hr_method"] == hr_method and m["group"] == group]


def _method_order(names: Iterable[str]) -> list[str]:
    known = [m for m in METHOD_ORDER if m in names]
    return known + sorted(set(names) - set(known))


def scenario_keys(videos: list[VideoSignals]) -> list[str]:
    """Metadata keys with scalar values and few distinct levels (MMPD labels, synthetic scenario,
    BUAA-MIHR lux); a key with more levels than MAX_SCENARIO_LEVELS is an id or a measurement."""
    return _scenario_keys([v.metadata for v in videos])


def _scenario_keys(metadata: list[dict]) -> list[str]:
    levels: dict[str, set] = defaultdict(set)
    scalar: dict[str, bool] = defaultdict(lambda: True)
    for labels in metadata:
        for key, value in labels.items():
            levels[key].add(str(value))
            scalar[key] &= isinstance(value, (str, int, float, bool))  # BUAA: lux 1.6
    return sorted(k for k, vals in levels.items()
                  if scalar[k] and len(vals) <= MAX_SCENARIO_LEVELS)


def level_order(level: str) -> tuple:
    """Numbers in numeric order (lux 1.6 before 10.0), then text."""
    try:
        return (0, float(level), "")
    except ValueError:
        return (1, 0.0, level)


def _windows(n: int, fps: float, window_seconds: float | None) -> list[slice]:
    """Whole video, or the toolbox's non-overlapping evaluation windows (short tail dropped)."""
    size = n if window_seconds is None else min(n, int(round(window_seconds * fps)))
    spans = [slice(i, min(i + size, n)) for i in range(0, n, size)]
    return [s for s in spans if s.stop - s.start >= MIN_FRAMES]


def _hr_pair(x: np.ndarray, fps: float, resolution_bpm: float | None) -> tuple[float, float]:
    return pulse.hr_fft(x, fps, resolution_bpm=resolution_bpm), pulse.hr_peaks(x, fps)


def _vitals_columns(read: vitals.Vitals, prefix: str = "") -> dict:
    return {f"{prefix}{name}": getattr(read, name) if getattr(read, name) is not None else float("nan")
            for name in VITALS} | {f"{prefix}{flag}": getattr(read, flag) for flag in set(VITALS.values())}


def evaluate_video(video: VideoSignals, window_seconds: float | None = None,
                   resolution_bpm: float | None = pulse.RESOLUTION_BPM) -> list[dict]:
    """Rows (one per window and method) of HR by FFT and peaks, the truth's HRs, SNR, and the
    vitals of the method and of the truth (nan where not read, with their flags).

    Prediction and truth are read at the same FFT resolution (`pulse.hr_fft`); None is the
    toolbox's power-of-two bins."""
    truth = np.asarray(video.truth_ppg, dtype=np.float64)
    for name, wave in video.methods.items():
        if len(wave) != len(truth):
            raise ValueError(f"{video.video_id}: {name} has {len(wave)} samples, "
                             f"the ground truth {len(truth)}")
    labels = {k: str(v) for k, v in video.metadata.items()}
    rows = []
    for w, span in enumerate(_windows(len(truth), video.fps, window_seconds)):
        truth_pulse = pulse.to_pulse(truth[span], video.fps)
        true_fft, true_peak = _hr_pair(truth_pulse, video.fps, resolution_bpm)
        true_vitals = _vitals_columns(vitals.vitals(truth[span], video.fps), "true_")
        for name, wave in video.methods.items():
            x = pulse.to_pulse(np.asarray(wave)[span], video.fps, diff=name in video.diff_methods)
            hr_fft, hr_peak = _hr_pair(x, video.fps, resolution_bpm)
            rows.append({
                "video_id": video.video_id, "dataset": video.dataset, "window": w,
                "start_frame": span.start, "frames": span.stop - span.start, "method": name,
                "hr_fft": hr_fft, "hr_peak": hr_peak,
                "true_hr_fft": true_fft, "true_hr_peak": true_peak,
                # toolbox: SNR around the ground-truth HR of the chosen HR method
                "snr_fft": pulse.snr_db(x, video.fps, true_fft),
                "snr_peak": pulse.snr_db(x, video.fps, true_peak),  # nan if the truth has no HR
                **_vitals_columns(vitals.vitals(vitals.pulse_domain(np.asarray(wave)[span],
                                                                    name in video.diff_methods), video.fps)),
                **true_vitals,
                "labels": labels,
            })
    return rows


def _metric_rows(rows: list[dict], methods: list[str], group: str, level: str) -> list[dict]:
    out = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        for hr in HR_METHODS:
            pred = [r[f"hr_{hr}"] for r in mine]
            true = [r[f"true_hr_{hr}"] for r in mine]
            snr, snr_se = mean_se([r[f"snr_{hr}"] for r in mine])
            out.append({"method": method, "hr_method": hr, "group": group, "level": level,
                        **hr_metrics(pred, true), "snr": snr, "snr_se": snr_se})
    return out


def vitals_metrics(rows: list[dict], methods: list[str]) -> list[dict]:
    """Per method and vital: errors over the windows where both it and the truth were read, and
    how many windows the method refused (`refused`) or the truth could not give (`truth_refused`)."""
    out = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        for name, flag in VITALS.items():
            both = [r for r in mine if r[flag] == "ok" and r[f"true_{flag}"] == "ok"]
            with np.errstate(divide="ignore", invalid="ignore"):  # a pNN50 of 0 has no relative error
                errors = hr_metrics([r[name] for r in both], [r[f"true_{name}"] for r in both])
            out.append({"method": method, "vital": name, "windows": len(mine),
                        "refused": sum(r[flag] != "ok" for r in mine),
                        "truth_refused": sum(r[f"true_{flag}"] != "ok" for r in mine),
                        **{k: v for k, v in errors.items() if not k.startswith("mape")}})
    return out


def evaluate_videos(videos: Iterable[VideoSignals], window_seconds: float | None = None,
                    scenarios: list[str] | None = None, toolbox: bool = False) -> EvaluationReport:
    """Evaluate every video and method; metrics for all, per dataset and per scenario label.

    `videos` is read once, one video at a time, and only each video's rows and labels are kept:
    a generator of videos (physllm/evaluate.py reads them one by one from the shards) keeps
    memory to one video's signals, whatever the split's length.
    `scenarios` defaults to the scenario-like metadata keys (`scenario_keys`); `window_seconds`
    evaluates non-overlapping windows of that length instead of whole videos; `toolbox` reads HR
    in rPPG-Toolbox's power-of-two FFT bins (the videos' tails are dropped by `signals_from_shards`).
    """
    resolution = None if toolbox else pulse.RESOLUTION_BPM
    rows, metadata = [], []
    for video in videos:
        rows += evaluate_video(video, window_seconds, resolution)
        metadata.append(video.metadata)
    if not metadata:
        raise ValueError("no videos to evaluate")
    methods = _method_order({r["method"] for r in rows})
    keys = _scenario_keys(metadata) if scenarios is None else \
        [k for k in scenarios if any(k in labels for labels in metadata)]  # no empty tables
    metrics = _metric_rows(rows, methods, "all", "all")
    for dataset in sorted({r["dataset"] for r in rows}):
        metrics += _metric_rows([r for r in rows if r["dataset"] == dataset], methods,
                                "dataset", dataset)
    for key in keys:
        for level in sorted({r["labels"][key] for r in rows if key in r["labels"]},
                            key=level_order):
            metrics += _metric_rows([r for r in rows if r["labels"].get(key) == level], methods,
                                    key, level)
    settings = {"band_hz": [pulse.LOW_HZ, pulse.HIGH_HZ], "detrend_lambda": pulse.DETREND_LAMBDA,
                "snr_half_width_bpm": pulse.SNR_HALF_WIDTH_BPM, "window_seconds": window_seconds,
                "fft_resolution_bpm": resolution, "convention": "toolbox" if toolbox else "physllm",
                "videos": len(metadata)}
    return EvaluationReport(rows, metrics, methods, keys, settings, vitals_metrics(rows, methods))


def _finite_or_none(x):
    return x if not isinstance(x, float) or math.isfinite(x) else None


def _write_csv(path: Path, rows: list[dict]) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_report(report: EvaluationReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json (settings + metrics), per_video.csv and metrics.csv; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_video = [{**{k: v for k, v in r.items() if k != "labels"},
                  **{f"meta_{k}": v for k, v in r["labels"].items()}} for r in report.per_video]
    paths = {"json": out_dir / "report.json", "per_video": out_dir / "per_video.csv",
             "metrics": out_dir / "metrics.csv", "vitals": out_dir / "vitals.csv"}
    summary = {"settings": report.settings, "methods": report.methods,
               "scenario_keys": report.scenario_keys,
               "metrics": [{k: _finite_or_none(v) for k, v in m.items()} for m in report.metrics],
               "vitals": [{k: _finite_or_none(v) for k, v in m.items()} for m in report.vitals]}
    paths["json"].write_text(json.dumps(summary, indent=2))
    _write_csv(paths["per_video"], per_video)
    _write_csv(paths["metrics"], report.metrics)
    if report.vitals:
        _write_csv(paths["vitals"], report.vitals)
    else:
        del paths["vitals"]
    return paths


def join_clips(first_frames, waves, keep_tail: bool = True) -> np.ndarray:
    """One video's clip arrays joined in frame order; raise on a gap.

    Whole clips tile the video; the last clip may start inside the one before it (it ends on the
    video's last frame, pipeline.clips) and then adds only the frames past that one's end: each
    frame comes from the first clip that covers it. `keep_tail=False` drops such a clip, which is
    rPPG-Toolbox's convention (the tail of a video is not evaluated). A missing clip would
    shift every later beat, so a gap is an error.
    """
    if len(first_frames) != len(waves) or not waves:
        raise ValueError(f"need one first frame per clip, got {len(first_frames)} first frames "
                         f"and {len(waves)} clips")
    order = np.argsort(np.asarray(first_frames), kind="stable")
    end, pieces = int(first_frames[order[0]]), []
    for i in order:
        start, wave = int(first_frames[i]), np.asarray(waves[i])
        if start > end:
            raise ValueError(f"clips do not tile the video: gap at frame {end} "
                             f"(next clip starts at frame {start})")
        if start < end and not keep_tail:
            continue
        pieces.append(wave[end - start:])
        end = max(end, start + len(wave))
    return np.concatenate(pieces, axis=0)


SHARD_COLUMNS = ["first_frame", "fps", "ppg", "backbone_wave", "rgb_mean", "background_mean", "roi"]  # not the features


def signals_from_shards(shard_set, video_ids: Iterable[str] | None = None,
                        predictions: dict[str, np.ndarray] | None = None,
                        baselines: Iterable[str] = ("green", "chrom", "pos"),
                        keep_tail: bool = True) -> list[VideoSignals]:
    """Per-video signals from the shard cache (`physllm.shards.reader.ShardSet`).

    Truth = the joined `ppg`; "physnet" = the joined `backbone_wave` (DiffNormalized); each
    baseline from the joined `rgb_mean`; `predictions` (video_id → joined wave, DiffNormalized
    domain) are added as "physllm" for the videos they cover. `keep_tail=False` leaves out each
    video's last, overlapping clip (rPPG-Toolbox's convention, `join_clips`).
    """
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; known: {sorted(BASELINES)}")
    predictions = predictions or {}
    refs = shard_set.videos() if video_ids is None else [shard_set.video(v) for v in video_ids]
    out = []
    for ref in refs:
        table = shard_set.read_video(ref.video_id, columns=SHARD_COLUMNS)
        first = table.column("first_frame").to_pylist()
        try:
            truth, backbone, rgb, background = (join_clips(first, list(to_numpy(table.column(name))), keep_tail)
                                                for name in ("ppg", "backbone_wave", "rgb_mean", "background_mean"))
        except ValueError as e:
            raise CacheError(f"{ref.video_id} ({ref.shard}): {e}; re-run precompute for this "
                             f"video") from e
        fps = float(table.column("fps")[0].as_py())
        methods = {"physnet": backbone, **{b: BASELINES[b](rgb, fps) for b in baselines}}
        diff = {"physnet"}
        if ref.video_id in predictions:
            methods["physllm"] = np.asarray(predictions[ref.video_id])
            diff.add("physllm")
        metadata = ref.metadata | {"roi": table.column("roi")[0].as_py()}  # a label like skin tone, broken down alike
        out.append(VideoSignals(ref.video_id, ref.dataset, fps, metadata, truth, methods, diff, rgb, background))
    return out
