"""The command line's tables (rich): the libraries return data, the apps print it here.

- datasets: `physllm datasets list` (data_catalog.DATASETS), `datasets check`
  (data_catalog/check.py's `DatasetCheck`);
- caches: `physllm cache ls|info|verify` (shards/cache.py's `CacheInfo`, `VerifyReport`);
- evaluation: `physllm evaluate` and the demo (evaluation/report.py's `EvaluationReport`): HR
  metrics per method, MAE per dataset and scenario, and the vitals' errors;
- predict: `physllm predict`'s per-video window table, vitals and notes (predict/command.py's
  `BatchResult`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from physllm.data_catalog import DATASETS
from physllm.data_catalog.check import DatasetCheck
from physllm.evaluation.report import METHOD_ORDER, EvaluationReport, level_order
from physllm.shards import storage
from physllm.shards.cache import CacheInfo, cache_info, list_caches, verify_caches

if TYPE_CHECKING:  # predict's modules load torch-free but not light: imported where printed
    from physllm import vitals
    from physllm.predict.command import BatchResult
    from physllm.predict.video import Prediction
    from physllm.predict.windows import WindowEstimate

# ---------------------------------------------------------------- datasets


def print_dataset_list(console: Console) -> None:
    table = Table(title="physllm datasets", show_lines=True)
    for column in ("name", "title", "layout", "citation"):
        table.add_column(column, overflow="fold")
    for info in DATASETS.values():
        table.add_row(info.name, info.title, info.layout, info.citation)
    console.print(table)


def print_dataset_check(check: DatasetCheck, console: Console) -> None:
    info, summary = check.info, check.summary
    table = Table(title=f"{info.title} at {check.root}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("subjects", str(summary["subjects"]))
    table.add_row("sessions (videos)", str(summary["sessions"]))
    table.add_row("minutes of video", f"{summary['minutes']:.1f}")
    table.add_row("fps", ", ".join(f"{fps:g}" for fps in summary["fps"]))
    table.add_row("ground truth", info.ground_truth)
    table.add_row("videos with dataset HR", f"{summary['with_hr']} of {summary['sessions']}")
    table.add_row("frame size (H×W)", ", ".join(f"{h}×{w}" for h, w in check.frame_sizes))
    for key, counts in summary["labels"].items():
        table.add_row(f"label: {key}", ", ".join(f"{value} ({count})" for value, count in counts.items()))
    console.print(table)


# ---------------------------------------------------------------- caches


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def caches_table(infos: list[CacheInfo]) -> Table:
    table = Table(title="physllm caches")
    for name in ("dataset", "key", "done", "failed", "clips", "size", "created"):
        table.add_column(name, no_wrap=True)  # keys are copied from here: never fold them
    table.add_column("backbone")
    table.add_column("describer")
    for i in infos:
        table.add_row(i.dataset, i.key, str(i.videos_done), str(i.videos_failed), str(i.clips),
                      human_size(i.size_bytes), i.created[:16].replace("T", " "), i.backbone,
                      i.describer)
    return table


def info_table(info: CacheInfo) -> Table:
    table = Table("", "", show_header=False, title=f"cache {info.dataset}/{info.key}")
    rows = [("path", storage.url(info.path)), ("videos done", str(info.videos_done)),
            ("videos failed", str(info.videos_failed)), ("clips", str(info.clips)),
            ("size", human_size(info.size_bytes)), ("created", info.created),
            ("backbone", info.backbone), ("describer", info.describer),
            ("settings", json.dumps(info.settings, indent=1, sort_keys=True))]
    rows += [(f"failed: {vid}", reason) for vid, reason in sorted(info.failures.items())]
    for name, value in rows:
        table.add_row(name, value)
    return table


def print_cache_list(cache_root: Path, console: Console) -> None:
    infos = list_caches(cache_root)
    if not infos:
        console.print(f"no caches under {storage.url(cache_root)}")
        return
    console.print(caches_table(infos))


def print_cache_info(cache_root: Path, key_or_prefix: str, console: Console) -> None:
    console.print(info_table(cache_info(cache_root, key_or_prefix)))


def print_verify(cache_root: Path, key_or_prefix: str | None, console: Console) -> bool:
    """Verify one cache (by key prefix) or all under `cache_root`; True when none is damaged."""
    reports = verify_caches(cache_root, key_or_prefix)
    if not reports:
        console.print(f"no caches under {storage.url(cache_root)}")
    for report in reports:
        status = "[green]ok[/green]" if report.ok else f"[red]{len(report.errors)} error(s)[/red]"
        console.print(f"{storage.url(report.path)}: {report.shards_checked} shard(s), {status}")
        for line in report.errors:
            console.print(f"  [red]error[/red] {line}", highlight=False)
        for line in report.warnings:
            console.print(f"  [yellow]warning[/yellow] {line}", highlight=False)
    return all(r.ok for r in reports)


# ---------------------------------------------------------------- evaluation


def _pm(value: float, se: float, digits: int = 2) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}±{se:.{digits}f}" if math.isfinite(se) else f"{value:.{digits}f}"


METHOD_WIDTH = max(len(m) for m in METHOD_ORDER)  # never squeezed into "physl…" on a narrow terminal


def print_table(report: EvaluationReport, hr_method: str = "fft",
                console: Console | None = None) -> None:
    """One row per method (MAE, RMSE, MAPE, r, SNR ± SE), then MAE per dataset and scenario,
    then the vitals' errors."""
    console = console or Console()
    window = report.settings.get("window_seconds")
    unit = f"{window:g}-s windows" if window else "videos"
    table = Table(title=f"Heart rate by {hr_method.upper()}, all {unit} (MAE, RMSE in bpm; "
                        f"MAPE in %; SNR in dB; ± standard error)", box=box.SIMPLE_HEAD)
    table.add_column("Method", no_wrap=True, min_width=METHOD_WIDTH)
    for col in ("n", "MAE", "RMSE", "MAPE", "r", "SNR"):
        table.add_column(col, justify="right", no_wrap=True)
    for m in report.select(hr_method, "all"):
        table.add_row(m["method"], str(m["n"]), _pm(m["mae"], m["mae_se"]),
                      _pm(m["rmse"], m["rmse_se"]), _pm(m["mape"], m["mape_se"]),
                      _pm(m["pearson"], m["pearson_se"], 3), _pm(m["snr"], m["snr_se"]))
    console.print(table)
    for group in ["dataset", *report.scenario_keys]:
        rows = report.select(hr_method, group)
        levels = sorted({m["level"] for m in rows}, key=level_order)
        if group == "dataset" and len(levels) < 2:
            continue
        table = Table(title=f"MAE by {group} (bpm, {hr_method.upper()}): mean ± SE (videos)",
                      box=box.SIMPLE_HEAD)
        table.add_column("Method", no_wrap=True, min_width=METHOD_WIDTH)
        for level in levels:
            table.add_column(level, justify="right", no_wrap=True)
        for method in report.methods:
            cells = {m["level"]: f"{_pm(m['mae'], m['mae_se'])} ({m['n']})"
                     for m in rows if m["method"] == method}
            table.add_row(method, *(cells.get(level, "") for level in levels))
        console.print(table)
    print_vitals_table(report, console)


VITAL_TITLES = {"sdnn_ms": "SDNN (ms)", "rmssd_ms": "RMSSD (ms)", "pnn50": "pNN50 (%)",
                "breathing_rpm": "breathing (/min)"}


def print_vitals_table(report: EvaluationReport, console: Console | None = None) -> None:
    """MAE ± SE of each vital against the truth's, with (windows where both read / windows)."""
    if not report.vitals:
        return
    console = console or Console()
    table = Table(title="Vitals vs the ground-truth PPG's own: MAE ± SE (read by both / windows)",
                  box=box.SIMPLE_HEAD)
    table.add_column("Method", no_wrap=True, min_width=METHOD_WIDTH)
    for title in VITAL_TITLES.values():
        table.add_column(title, justify="right", no_wrap=True)
    for method in report.methods:
        cells = {m["vital"]: f"{_pm(m['mae'], m['mae_se'])} ({m['n']}/{m['windows']})"
                 for m in report.vitals if m["method"] == method}
        table.add_row(method, *(cells.get(name, "") for name in VITAL_TITLES))
    console.print(table)


# ---------------------------------------------------------------- predict


def print_batch(result: BatchResult) -> None:
    """Per video: its verdict, the window table, vitals, notes and files written; then failures."""
    from physllm.progress import console

    for pred, paths in result.predictions:
        table = Table(title=f"{pred.source}: {_verdict(pred.video)} over {pred.duration_s:.0f} s ({pred.method})",
                      title_justify="left")
        for column in ("window", "HR (bpm)", "peaks (bpm)", "SNR (dB)", "confidence", "flag", "RMSSD (ms)"):
            table.add_column(column, justify="right")
        for w in pred.windows:
            table.add_row(f"{w.start_s:.0f}–{w.end_s:.0f} s", f"{w.hr_bpm:.1f}", f"{w.hr_peaks_bpm:.1f}",
                          f"{w.snr_db:.1f}", f"{w.confidence:.2f}", w.flag,
                          f"{w.rmssd_ms:.0f}" if w.rmssd_ms is not None else "—")
        console.print(table)
        console.print(vitals_line(pred.vitals), highlight=False)
        for note in pred.notes + _why_unreliable(pred):
            console.print(f"note: {note}", highlight=False)
        console.print(f"wrote {paths['json']}, {paths['windows'].name}, {paths['waveform'].name}, "
                      f"{paths['figure'].name}")
    for source, reason in result.failures:
        console.print(f"[bold red]error:[/bold red] {reason}", highlight=False, soft_wrap=True)


def _verdict(video: WindowEstimate) -> str:
    quality = "reliable" if video.reliable else "unreliable"
    return f"{video.hr_bpm:.1f} bpm (confidence {video.confidence:.2f}, {quality})"


def _why_unreliable(pred: Prediction) -> list[str]:
    flagged = [w for w in pred.windows if not w.reliable]
    notes = []
    if pred.video.flag == "no_face":
        notes.append("the face was found in too few detections: the HR is a guess")
    elif pred.video.flag == "low_confidence":
        notes.append(f"the pulse is weak (SNR {pred.video.snr_db:.1f} dB): treat the HR as a guess")
    if flagged:
        kinds = sorted({w.flag for w in flagged})
        notes.append(f"{len(flagged)} of {len(pred.windows)} windows flagged ({', '.join(kinds)}); "
                     "their HR is kept in the files with reliable=false")
    return notes


def vitals_line(read: vitals.Vitals | None) -> str:
    """`HRV: SDNN 42 ms, RMSSD 35 ms, pNN50 12%; breathing 15.2 /min`, or why each was skipped."""
    if read is None:
        return "HRV and breathing: not read (the heart rate is not reliable)"
    hrv = (f"SDNN {read.sdnn_ms:.0f} ms, RMSSD {read.rmssd_ms:.0f} ms, pNN50 {read.pnn50:.0f}%"
           if read.hrv_flag == "ok" else f"not read ({read.hrv_flag})")
    breathing = f"{read.breathing_rpm:.1f} /min" if read.breathing_flag == "ok" else f"not read ({read.breathing_flag})"
    return f"HRV ({read.beats} beats): {hrv}; breathing {breathing}"
