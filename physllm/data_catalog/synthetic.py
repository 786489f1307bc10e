"""The rendered datasets "synthetic" and "synthetic2", read back: UBFC-rPPG's layout plus the
metadata.json the renderers (physllm/render/) write last, whose per-subject scenario labels each
record carries."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from physllm.data_catalog import ubfc_rppg
from physllm.data_catalog.record import VideoRecord
from physllm.errors import DatasetError

METADATA_NAME = "metadata.json"


def read_metadata(root: Path) -> dict:
    """The metadata.json a renderer writes last (a folder without it is incomplete)."""
    path = Path(root) / METADATA_NAME
    if not path.is_file():
        raise DatasetError(f"{path}: missing (expected the {METADATA_NAME} that `physllm datasets synth` writes "
                           "last; without it the dataset is incomplete or not a synthetic one)")
    try:
        metadata = json.loads(path.read_text())
        metadata["subjects"].items()
        return metadata
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as error:
        raise DatasetError(f"{path}: not a synthetic-dataset metadata file ({error!r}); "
                           "expected JSON with a 'subjects' mapping") from None


def scan(root: Path, dataset: str = "synthetic") -> list[VideoRecord]:
    """The UBFC-rPPG reader's records (named `dataset`), each with its scenario labels."""
    subjects = read_metadata(root)["subjects"]
    records = ubfc_rppg.scan(root, dataset=dataset)
    unlabelled = [record.subject for record in records if record.subject not in subjects]
    if unlabelled:
        raise DatasetError(f"{Path(root) / METADATA_NAME}: no labels for {', '.join(unlabelled)} "
                           "(expected an entry per subject folder)")
    return [dataclasses.replace(record, metadata={**record.metadata, **subjects[record.subject]})
            for record in records]
