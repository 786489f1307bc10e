"""The one "auto" device: cuda if there is one, else cpu. The trainer, `evaluate`, `predict`, the
backbone runner (pipeline/backbone.py) and the LLaVA describer all resolve their device here."""

from __future__ import annotations

import torch

from physllm.errors import PhysllmError


def resolve_device(name: str | None = "auto") -> torch.device:
    """'auto' (or None) → cuda if there is one, else cpu; anything else as torch spells it."""
    if not name or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as error:
        raise PhysllmError(f"unknown device {name!r}: {error}") from None
