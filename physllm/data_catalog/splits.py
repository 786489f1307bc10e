"""Subject-wise splits and the standard evaluation protocols (intra- and cross-dataset).

Cross-condition protocols (`synthetic-loco-<condition>`, ours) leave one recording condition
out of training: the test split is every video under that condition, the validation split every
video under a second, partner condition (so the checkpoint is chosen on a condition training did
not see either), and the rest trains. They select by the videos' scenario labels.

Subjects are sorted numerically before splitting (rPPG-Toolbox splits UBFC-rPPG in glob order,
a known pitfall), and a fraction range (lo, hi) of a dataset's n subjects selects subjects
[floor(lo·n), floor(hi·n)) as the toolbox's `split_raw_data` does with BEGIN/END, so the same
fractions pick the same subjects. Works on `VideoRecord`s and on video ids
("dataset/subject/session", as in the shards) alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, TypeVar

from physllm.data_catalog import DATASETS, canonical_name
from physllm.data_catalog.record import VideoRecord, natural_key
from physllm.errors import PhysllmError

Item = TypeVar("Item", VideoRecord, str)
Range = tuple[float, float]
Part = tuple[tuple[str, Range], ...]  # ((dataset, (lo, hi)), ...)

# rPPG-Toolbox configs/train_configs/*: cross-dataset runs train on BEGIN 0.0-END 0.8 of the source,
# validate on 0.8-1.0 of it and test on 0.0-1.0 of the target (e.g. PURE_PURE_UBFC-rPPG_PHYSNET_BASIC.yaml).
CROSS_TRAIN, CROSS_VAL, WHOLE = (0.0, 0.8), (0.8, 1.0), (0.0, 1.0)
# Its intra-dataset config (PhysDrive_PhysDrive_PhysDrive_TSCAN_BASIC.yaml) tests on 0.8-1.0 and leaves
# validation empty (0.8-0.8); here the last quarter of its training subjects validates instead.
INTRA_TRAIN, INTRA_VAL, INTRA_TEST = (0.0, 0.6), (0.6, 0.8), (0.8, 1.0)
# Guards floor() against float noise (0.29 * 100 = 28.999999999999996) that would drop a subject.
_EPS = 1e-9


@dataclass(frozen=True)
class Protocol:
    train: Part
    val: Part
    test: Part

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(name for part in (self.train, self.val, self.test) for name, _ in part))


def intra_protocol(dataset: str) -> Protocol:
    return Protocol(train=((dataset, INTRA_TRAIN),), val=((dataset, INTRA_VAL),), test=((dataset, INTRA_TEST),))


def cross_protocol(sources: Sequence[str], target: str) -> Protocol:
    return Protocol(train=tuple((s, CROSS_TRAIN) for s in sources), val=tuple((s, CROSS_VAL) for s in sources),
                    test=((target, WHOLE),))


def shift_protocol(source: str, target: str) -> Protocol:
    """All of `source` trains; the first half of `target` validates, its second half tests."""
    return Protocol(train=((source, WHOLE),), val=((target, (0.0, 0.5)),), test=((target, (0.5, 1.0)),))


@dataclass(frozen=True)
class ConditionProtocol:
    """Leave one condition out of one dataset: test on videos whose label `test` = (key, value),
    validate on those with `val`, train on the rest."""

    dataset: str
    test: tuple[str, str]
    val: tuple[str, str]

    @property
    def datasets(self) -> list[str]:
        return [self.dataset]


# Each held-out condition of the synthetic set, and the partner condition that validates it: another
# level of the same axis where there is one, so selection sees a shift of the same kind, not the test's.
SYNTHETIC_CONDITIONS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "flicker": (("light", "flicker"), ("light", "step")),
    "dim": (("light", "dim"), ("light", "step")),
    "rotation": (("motion", "rotation"), ("motion", "translation")),
    "translation": (("motion", "translation"), ("motion", "rotation")),
    "talking": (("motion", "talking"), ("motion", "walking")),
    "walking": (("motion", "walking"), ("motion", "talking")),
    "skin-vi": (("skin_tone", "VI"), ("skin_tone", "V")),
}
CONDITION_PROTOCOLS: dict[str, ConditionProtocol] = {
    f"synthetic-loco-{name}": ConditionProtocol("synthetic", test, val)
    for name, (test, val) in SYNTHETIC_CONDITIONS.items()}

PROTOCOLS: dict[str, Protocol | ConditionProtocol] = {
    **{f"{name}-intra": intra_protocol(name) for name in DATASETS},
    "pure->ubfc-rppg": cross_protocol(["pure"], "ubfc-rppg"),
    "ubfc-rppg->pure": cross_protocol(["ubfc-rppg"], "pure"),
    "pure+ubfc-rppg->mmpd": cross_protocol(["pure", "ubfc-rppg"], "mmpd"),
    # train on one renderer, test on the other, written independently (synthetic2.py)
    "synthetic->synthetic2": cross_protocol(["synthetic"], "synthetic2"),
    "synthetic2->synthetic": cross_protocol(["synthetic2"], "synthetic"),
    # all of renderer 1 trains; the checkpoint (and the gate) is chosen on the first half of
    # renderer 2, under a shift training never saw, and tested on its second half
    "synthetic->synthetic2-shiftval": shift_protocol("synthetic", "synthetic2"),
    "synthetic2->synthetic-shiftval": shift_protocol("synthetic2", "synthetic"),  # the other direction
    **CONDITION_PROTOCOLS,
}


def _normalize_protocol_name(name: str) -> str:
    """'UBFC → PURE' → 'ubfc-rppg->pure'; 'ubfc-intra' → 'ubfc-rppg-intra'."""
    text = name.strip().lower().replace("→", "->").replace(" ", "")
    if "-loco-" in text:
        return text
    if text.endswith("-intra"):
        return f"{canonical_name(text[:-len('-intra')])}-intra"
    if "->" in text:
        sources, _, target = text.partition("->")
        return "+".join(canonical_name(s) for s in sources.split("+")) + "->" + canonical_name(target)
    return text


def resolve_protocol(name: str) -> Protocol | ConditionProtocol:
    """A protocol by name: the standard ones, or any `a+b->c` / `a-intra` over known datasets."""
    key = _normalize_protocol_name(name)
    if key in PROTOCOLS:
        return PROTOCOLS[key]
    if key.endswith("-intra") and key[:-len("-intra")] in DATASETS:
        return intra_protocol(key[:-len("-intra")])
    sources, arrow, target = key.partition("->")
    if arrow and target in DATASETS and all(s in DATASETS for s in sources.split("+")):
        return cross_protocol(sources.split("+"), target)
    raise PhysllmError(f"unknown protocol {name!r}; known protocols: {', '.join(PROTOCOLS)} "
                       "(or any 'a+b->c' / 'a-intra' over the known datasets)")


def _dataset_and_subject(item: VideoRecord | str) -> tuple[str, str]:
    if isinstance(item, VideoRecord):
        return item.dataset, item.subject
    dataset, subject, _ = item.split("/", 2)
    return dataset, subject


def subject_range(subjects: Sequence[str], fraction_range: Range) -> list[str]:
    """Numerically sorted subjects [floor(lo·n), floor(hi·n)): rPPG-Toolbox's BEGIN/END rule."""
    ordered = sorted(set(subjects), key=natural_key)
    lo, hi = fraction_range
    return ordered[math.floor(lo * len(ordered) + _EPS):math.floor(hi * len(ordered) + _EPS)]


def select(items: Sequence[Item], dataset: str, fraction_range: Range) -> list[Item]:
    """The items of `dataset` whose subject falls in `fraction_range` of its sorted subjects."""
    dataset = canonical_name(dataset)
    own = [item for item in items if _dataset_and_subject(item)[0] == dataset]
    chosen = set(subject_range([_dataset_and_subject(item)[1] for item in own], fraction_range))
    return [item for item in own if _dataset_and_subject(item)[1] in chosen]


def split_subjects(items: Sequence[Item], fractions: Sequence[float]) -> list[list[Item]]:
    """Consecutive subject-wise parts of one dataset's items, e.g. fractions (0.6, 0.2, 0.2)."""
    if not math.isclose(sum(fractions), 1.0) or any(f < 0 for f in fractions):
        raise PhysllmError(f"split fractions {list(fractions)} must be non-negative and sum to 1")
    datasets = {_dataset_and_subject(item)[0] for item in items}
    if len(datasets) > 1:
        raise PhysllmError(f"split_subjects splits one dataset at a time; got {sorted(datasets)}")
    edges = [sum(fractions[:i]) for i in range(len(fractions) + 1)]
    return [select(items, next(iter(datasets)), (lo, hi)) if datasets else []
            for lo, hi in zip(edges, edges[1:])]


def apply_protocol(protocol: Protocol | ConditionProtocol, items: Sequence[Item],
                   labels: dict[str, dict] | None = None) -> dict[str, list[Item]]:
    """{'train': [...], 'val': [...], 'test': [...]} for records or video ids of any datasets.
    A ConditionProtocol reads each item's scenario labels: a record's metadata, or for a video
    id `labels[id]`."""
    if isinstance(protocol, ConditionProtocol):
        return _apply_conditions(protocol, items, labels or {})
    return {part_name: [item for dataset, fraction_range in part for item in select(items, dataset, fraction_range)]
            for part_name, part in (("train", protocol.train), ("val", protocol.val), ("test", protocol.test))}


def _apply_conditions(protocol: ConditionProtocol, items: Sequence[Item],
                      labels: dict[str, dict]) -> dict[str, list[Item]]:
    parts: dict[str, list[Item]] = {"train": [], "val": [], "test": []}
    own = [item for item in items if _dataset_and_subject(item)[0] == protocol.dataset]
    for item in own:
        meta = item.metadata if isinstance(item, VideoRecord) else labels.get(item, {})
        if not meta:
            raise PhysllmError(f"protocol leaves a condition out, but {item} has no scenario labels")
        under = lambda condition: str(meta.get(condition[0])) == condition[1]  # noqa: E731
        parts["test" if under(protocol.test) else "val" if under(protocol.val) else "train"].append(item)
    return parts
