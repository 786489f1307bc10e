"""Choosing a describer by name: `fast` (the offline default) or `llava` (the paper's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from physllm.errors import PhysllmError
from physllm.pipeline.describe_fast import FastDescriber, FastDescriberConfig
from physllm.pipeline.describe_llava import DEFAULT_MODEL, LlavaDescriber

if TYPE_CHECKING:
    from physllm.pipeline.clips import Clip

DESCRIBERS = ("fast", "llava")


class Describer(Protocol):
    def describe(self, clips: list[Clip]) -> list[str]: ...

    def provenance(self) -> dict: ...


def make_describer(name: str, model: str | None = None, **kw) -> Describer:
    """`fast` takes FastDescriberConfig fields as keywords; `llava` LlavaDescriber's arguments."""
    if name == "fast":
        if model is not None:
            raise PhysllmError(f"the fast describer uses no model, got model={model!r}")
        return FastDescriber(FastDescriberConfig(**kw))
    if name == "llava":
        return LlavaDescriber(model or DEFAULT_MODEL, **kw)
    raise PhysllmError(f"unknown describer {name!r}: expected one of {', '.join(DESCRIBERS)}")
