"""rPPG-Toolbox's released PhysNet checkpoints by name (`--backbone ubfc-rppg`), pinned by sha256
and fetched on first use, as open_clip resolves a `pretrained=` name to a URL and a hash.

The files are rPPG-Toolbox's `final_model_release/` (Liu et al., "rPPG-Toolbox: Deep Remote PPG
Toolbox", NeurIPS 2023 Datasets and Benchmarks; its Responsible AI licence ships beside them). A
name resolves to `<cache>/<file>`, the cache `$PHYSLLM_WEIGHTS` or `~/.cache/physllm/weights`. A
file not there (or not matching its hash) is downloaded to `<file>.part`, checked against the
pinned sha256 (a mismatch deletes it and is an error), then renamed into place. Nothing is
fetched on import; without a network the error names the file to place and where.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from physllm.errors import PhysllmError
from physllm.shards.cache import file_sha256

UPSTREAM = "https://github.com/ubicomplab/rPPG-Toolbox/raw/main/final_model_release/"
DOWNLOAD_TIMEOUT_S = 60  # a 3 MB file; a stalled connection fails instead of hanging


@dataclass(frozen=True)
class Released:
    file: str
    sha256: str  # of the file in final_model_release/ (computed from the toolbox's copies)
    url: str
    trained_on: str


def _toolbox(file: str, sha256: str, trained_on: str) -> Released:
    return Released(file, sha256, UPSTREAM + file, trained_on)


RELEASED = {
    "ubfc-rppg": _toolbox("UBFC-rPPG_PhysNet_DiffNormalized.pth",
                          "6c00db978d9db3566b8953a97cb7cfcd6deb9522b0cbc937c921bb1859a1cdd0", "UBFC-rPPG"),
    "pure": _toolbox("PURE_PhysNet_DiffNormalized.pth",
                     "cf295ff0b7a43ee638b9a8ce5a9c62801d5f196b360b3a589fdd5aa43ce623f8", "PURE"),
    "scamps": _toolbox("SCAMPS_PhysNet_DiffNormalized.pth",
                       "3059a4b2cf0ab155f1b63cdb8b858785a61a502242307f6e82abf8a7d588ba79", "SCAMPS (synthetic)"),
    "bp4d": _toolbox("BP4D_PseudoLabel_PhysNet_DiffNormalized.pth",
                     "aa1bd7364a469bc085b20dbc9dbbcc0faeab0d630f492573ebf52c79fafc66b7", "BP4D+ (pseudo-labels)"),
    "ma-ubfc": _toolbox("MA-UBFC_physnet.pth",
                        "670f313ce169e773fbdfc23ede578c6d14a7da9dced6596f3ad9de9677e01ce8", "UBFC-rPPG (motion-augmented)"),
}


def weights_dir() -> Path:
    return Path(os.environ.get("PHYSLLM_WEIGHTS") or Path.home() / ".cache" / "physllm" / "weights")


def download(entry: Released, path: Path) -> Path:
    """`entry` into `path` through `<path>.part`, kept only when its sha256 is the pinned one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(entry.url, timeout=DOWNLOAD_TIMEOUT_S) as response, part.open("wb") as f:
            for block in iter(lambda: response.read(1 << 20), b""):
                f.write(block)
    except (urllib.error.URLError, OSError) as error:
        part.unlink(missing_ok=True)
        raise PhysllmError(f"cannot download {entry.url} ({getattr(error, 'reason', error)}): place "
                           f"{entry.file} (sha256 {entry.sha256[:12]}…) in {path.parent} "
                           "(or set $PHYSLLM_WEIGHTS to the folder holding it)") from None
    got = file_sha256(part)
    if got != entry.sha256:
        part.unlink()
        raise PhysllmError(f"{entry.url}: downloaded file has sha256 {got[:12]}…, expected "
                           f"{entry.sha256[:12]}…; not kept")
    part.replace(path)
    return path


def backbone_path(spec: str | Path) -> Path:
    """`--backbone`: an existing file as it is, else a released name (`ubfc-rppg`, `pure`, `scamps`,
    `bp4d`, `ma-ubfc`) → its file in the weights cache, downloaded on first use."""
    if Path(spec).is_file() or str(spec).lower() not in RELEASED:
        return Path(spec)
    entry = RELEASED[str(spec).lower()]
    path = weights_dir() / entry.file
    if path.is_file() and file_sha256(path) == entry.sha256:
        return path
    return download(entry, path)
