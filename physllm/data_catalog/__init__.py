"""The dataset catalog: one reader per published layout, and a registry that names them.

Each reader's `scan(root)` returns `VideoRecord`s (record.py) sorted numerically by subject and
session. The registry is the single place that lists what `physllm datasets list` shows and what
`--dataset` accepts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from physllm.data_catalog import (bp4d_plus, buaa_mihr, cohface, ibvp, mmpd, pure, scamps, synthetic, ubfc_phys,
                                  ubfc_rppg, vipl_hr)
from physllm.data_catalog.record import VideoRecord, natural_key, record_sort_key
from physllm.errors import DatasetError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    layout: str
    citation: str
    scan: Callable[[Path], list[VideoRecord]]
    ground_truth: str  # what the dataset's ground truth is and at what rate, for `datasets check`
    scenario_labels: tuple[str, ...] = ()  # metadata keys that name a recording condition: results per level


DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("ubfc-rppg", "UBFC-rPPG (DATASET_2; DATASET_1 too)", ubfc_rppg.LAYOUT, ubfc_rppg.CITATION,
                ubfc_rppg.scan, "PPG + HR per frame (pulse oximeter, time-stamped)"),
    DatasetInfo("pure", "PURE", pure.LAYOUT, pure.CITATION, pure.scan,
                "PPG + pulse rate at 60 Hz (pulse oximeter), ns time stamps"),
    DatasetInfo("mmpd", "MMPD (Multi-domain Mobile Video Physiology)", mmpd.LAYOUT, mmpd.CITATION, mmpd.scan,
                "PPG per frame (30 Hz)", mmpd.TEXT_LABELS + mmpd.NUMERIC_LABELS),
    DatasetInfo("buaa-mihr", "BUAA-MIHR (low-light, 1-100 lux)", buaa_mihr.LAYOUT, buaa_mihr.CITATION,
                buaa_mihr.scan, "PPG spanning the video (rate undocumented) + oximeter HR", ("lux",)),
    DatasetInfo("scamps", "SCAMPS (synthetic avatars)", scamps.LAYOUT, scamps.CITATION, scamps.scan,
                "PPG per frame (rendered, 30 Hz) + breathing wave"),
    DatasetInfo("ubfc-phys", "UBFC-PHYS (rest, speech, arithmetic tasks)", ubfc_phys.LAYOUT, ubfc_phys.CITATION,
                ubfc_phys.scan, "BVP at 64 Hz (Empatica E4)", ("task", "toolbox_excluded")),
    DatasetInfo("ibvp", "iBVP (RGB-thermal, PPG with quality labels)", ibvp.LAYOUT, ibvp.CITATION, ibvp.scan,
                "BVP per frame (30 Hz) + signal-quality label SQ2", ("task", "ppg_quality")),
    DatasetInfo("cohface", "COHFACE (studio and natural light)", cohface.LAYOUT, cohface.CITATION, cohface.scan,
                "pulse at 256 Hz with time stamps (+ respiration belt)", ("light",)),
    DatasetInfo("bp4d-plus", "BP4D+ (10 emotion-eliciting tasks)", bp4d_plus.LAYOUT, bp4d_plus.CITATION,
                bp4d_plus.scan, "blood-pressure wave spanning the video (rate undocumented) + pulse rate",
                ("task", "sex")),
    DatasetInfo("vipl-hr", "VIPL-HR (9 scenarios × 4 devices)", vipl_hr.LAYOUT, vipl_hr.CITATION, vipl_hr.scan,
                "PPG spanning the video (rate undocumented) + oximeter HR", ("scenario", "source")),
    DatasetInfo("synthetic", "Synthetic faces with a known pulse (physllm)",
                "UBFC-rPPG's layout (subject{N}/vid.avi + ground_truth.txt) + metadata.json",
                "Rendered by `physllm datasets synth` (physllm/render/synthetic.py).", synthetic.scan, "PPG per frame (rendered)",
                ("skin_tone", "light", "motion", "noise", "compression", "difficulty")),
    DatasetInfo("synthetic2", "Synthetic faces from a second, independent renderer (physllm)",
                "UBFC-rPPG's layout (subject{N}/vid.avi + ground_truth.txt) + metadata.json",
                "Rendered by physllm/render/synthetic2.py.", partial(synthetic.scan, dataset="synthetic2"), "PPG per frame (rendered)",
                ("skin_tone", "flicker", "exposure", "white_balance", "motion")),
)}
ALIASES = {"ubfc": "ubfc-rppg", "buaa": "buaa-mihr", "ubfcphys": "ubfc-phys", "vipl": "vipl-hr",
           "bp4d": "bp4d-plus", "bp4d+": "bp4d-plus"}  # no "+" in a name: protocols join sources with it


def canonical_name(name: str) -> str:
    name = name.strip().lower()
    return ALIASES.get(name, name)


def scenario_labels(datasets) -> list[str]:
    """The scenario labels of these datasets, in catalog order, each once."""
    labels = [label for name in datasets for label in get_dataset(name).scenario_labels]
    return list(dict.fromkeys(labels))


def get_dataset(name: str) -> DatasetInfo:
    info = DATASETS.get(canonical_name(name))
    if info is None:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return info


def scan(name: str, root: Path) -> list[VideoRecord]:
    """Every video of dataset `name` under `root`, sorted by (subject, session), numbers by value."""
    return sorted(get_dataset(name).scan(Path(root)), key=record_sort_key)


def summarize(records: list[VideoRecord]) -> dict:
    """What a scan holds: subjects, sessions, minutes, frame rates and the labels' value counts."""
    labels: dict[str, Counter] = {}
    for record in records:
        for key, value in record.metadata.items():
            labels.setdefault(key, Counter())[value] += 1
    return {
        "subjects": len({record.subject for record in records}),
        "sessions": len(records),
        "minutes": sum(record.num_frames / record.fps for record in records) / 60.0,
        "fps": sorted({round(record.fps, 2) for record in records}),
        "with_hr": sum(record.hr_bpm is not None for record in records),
        "labels": {key: dict(sorted(counts.items(), key=lambda item: natural_key(str(item[0]))))
                   for key, counts in sorted(labels.items())},
    }


__all__ = ["DATASETS", "DatasetInfo", "VideoRecord", "get_dataset", "scan", "summarize", "canonical_name"]
