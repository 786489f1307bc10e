"""The trainer's checkpoints: `best/` and `last/` under a run's folder, written atomically (a temp
folder renamed over the old one), and resuming from `last/` exactly where it stopped.

Each holds the trainable weights (model/checkpoint.py's `save_trainable`) and training.json (the
train config, protocol, the caches trained on with their cue settings, metrics); `last/` also
train_state.pt (optimizer, scheduler, position in the data, RNG), read with `weights_only`.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import torch

from physllm.errors import CheckpointError
from physllm.model.checkpoint import save_trainable
from physllm.model.physllm import PhysLLM
from physllm.shards.reader import ShardSet
from physllm.train.data import Splits
from physllm.train.inference import TRAINING_FILE, read_training_info

STATE_FILE = "train_state.pt"
BEST, LAST = "best", "last"


def training_info(train_config: dict, shard_set: ShardSet, splits: Splits, epoch: int, global_step: int,
                  metrics: dict) -> dict:
    """training.json: what a checkpoint was trained on and how far."""
    return {"train_config": train_config, "protocol": splits.protocol,
            # what made the cues (backbone, describer, clip settings): `physllm predict`
            # rebuilds the same cues for a new video from this
            "caches": [{"dataset": c.dataset, "key": c.key, "path": str(c.path),
                        "settings": c.settings, "dataset_description": c.dataset_description,
                        "backbone_path": c.file_metadata.get("config", {}).get("backbone")}
                       for c in shard_set.caches],
            "videos": {p: len(splits.part(p)) for p in ("train", "val", "test")},
            "epoch": epoch, "global_step": global_step, "metrics": metrics}


def save_checkpoint(folder: Path, model: PhysLLM, info: dict, train_state: dict | None = None) -> None:
    """`folder` (best/ or last/) written atomically; `train_state` for a checkpoint to resume from."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_trainable(model, tmp)
    (tmp / TRAINING_FILE).write_text(json.dumps(info, indent=2))
    if train_state is not None:
        torch.save(train_state, tmp / STATE_FILE)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def rng_state() -> dict:
    return {"torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])


def load_last(out: Path, model: PhysLLM, shard_set: ShardSet) -> dict:
    """Weights of `<out>/last` into `model` (built from the run's config: a mismatch is a
    CheckpointError); returns its train state (optimizer, scheduler, position, RNG)."""
    from physllm.model.checkpoint import ADAPTERS_FILE, LORA_DIR, load_adapters, load_lora

    last = out / LAST
    if not (last / STATE_FILE).is_file():
        raise CheckpointError(f"cannot resume: {last / STATE_FILE} does not exist; expected "
                              f"the last checkpoint of an earlier run with --out {out}")
    check_same_caches(last, shard_set)
    load_adapters(model, last / ADAPTERS_FILE)
    load_lora(model, last / LORA_DIR)
    try:  # weights_only: tensors and plain containers, never code a pickle names
        return torch.load(last / STATE_FILE, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise CheckpointError(f"cannot resume: {last / STATE_FILE} is not a training state "
                              f"(torch.load with weights_only refused it: "
                              f"{type(error).__name__}); expected the file an earlier run "
                              f"with --out {out} wrote") from None


def check_same_caches(last: Path, shard_set: ShardSet) -> None:
    """A run resumes only on the caches it began on: other cues (another backbone, describer
    or dataset) would silently continue weights fitted to them."""
    began_on = sorted(c["key"] for c in read_training_info(last).get("caches", []))
    given = sorted(c.key for c in shard_set.caches)
    if began_on != given:
        raise CheckpointError(f"cannot resume: {last} was trained on cache(s) {', '.join(began_on)}, "
                              f"but --shards hold {', '.join(given)}; resume with the same shards "
                              f"or start a new run with another --out")
