"""The LLaVA describer: a vision-language model's description of each clip's keyframe.

PhysLLM (Xie et al., ICLR 2026) prompts LLaVA (llava-hf/llava-1.5-7b-hf, fp16) with the middle
frame of each clip and asks for the facial features that matter for rPPG; the text becomes
the vision cue. Here: `LlavaForConditionalGeneration` + `AutoProcessor` from a local folder or
a hub id, greedy decoding with a bounded length, batched with left padding. The model loads on
the first `describe` call, so `provenance()` (the cache key) costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physllm.errors import PhysllmError

if TYPE_CHECKING:
    from physllm.pipeline.clips import Clip

DEFAULT_MODEL = "llava-hf/llava-1.5-7b-hf"  # the paper's describer
PROMPT = (
    "This face is filmed to measure the pulse from subtle changes in skin colour. "
    "Describe, in a few short sentences: how visible the forehead, cheeks and nose bridge are; "
    "the skin tone; uneven lighting, shadows and specular reflections on the skin; the skin "
    "texture; signs of motion such as blur; and anything occluding the face, such as hair, "
    "glasses or hands."
)


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or Path(model).exists()


class LlavaDescriber:
    """Greedy LLaVA descriptions of clip keyframes, `batch_size` images per generate call."""

    def __init__(self, model: str = DEFAULT_MODEL, max_new_tokens: int = 200,
                 dtype: str | None = None, device: str | None = None, batch_size: int = 8):
        self.model_name = model
        self.max_new_tokens = max_new_tokens  # paper: 200
        self.dtype = dtype  # None: float16 on a GPU (paper), float32 on CPU
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._processor = None
        self._prompt_text = None
        if _looks_like_path(model) and not Path(model).expanduser().is_dir():
            raise PhysllmError(f"LLaVA model folder {model} does not exist "
                               "(expected a folder saved with save_pretrained, or a hub id)")

    def _load(self) -> None:
        import torch
        from transformers import AutoProcessor, LlavaForConditionalGeneration

        from physllm.device import resolve_device

        device = resolve_device(self.device)
        dtype = getattr(torch, self.dtype) if self.dtype else (
            torch.float16 if device.type == "cuda" else torch.float32)
        source = str(Path(self.model_name).expanduser()) if _looks_like_path(self.model_name) \
            else self.model_name
        try:
            processor = AutoProcessor.from_pretrained(source)
            model = LlavaForConditionalGeneration.from_pretrained(source, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise PhysllmError(
                f"LLaVA model {self.model_name!r} could not be loaded: it is neither a local "
                "folder nor in the Hugging Face cache, and no download happens offline "
                f"(HF_HUB_OFFLINE). Download it once with `hf download {self.model_name}` on a "
                f"machine with access, or pass a local folder. ({type(exc).__name__}: {exc})"
            ) from exc
        processor.tokenizer.padding_side = "left"  # generation continues every row at the end
        self._processor = processor
        self._model = model.to(device).eval()
        conversation = [{"role": "user", "content": [{"type": "image"},
                                                     {"type": "text", "text": PROMPT}]}]
        self._prompt_text = processor.apply_chat_template(conversation, add_generation_prompt=True)

    def _generate(self, keyframes: list[np.ndarray]) -> list[str]:
        import torch
        from PIL import Image

        images = [Image.fromarray(np.asarray(k, dtype=np.uint8)) for k in keyframes]
        inputs = self._processor(images=images, text=[self._prompt_text] * len(images),
                                 padding=True, return_tensors="pt").to(self._model.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
        with torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                       do_sample=False, num_beams=1)
        new_tokens = out[:, inputs["input_ids"].shape[1]:]  # (B, ≤ max_new_tokens)
        return [t.strip() for t in self._processor.batch_decode(new_tokens,
                                                                skip_special_tokens=True)]

    def describe(self, clips: list[Clip]) -> list[str]:
        if self._model is None:
            self._load()
        texts: list[str] = []
        for start in range(0, len(clips), self.batch_size):
            texts += self._generate([c.keyframe for c in clips[start:start + self.batch_size]])
        return texts

    def provenance(self) -> dict:
        return {"name": "llava", "model": self.model_name, "prompt": PROMPT,
                "settings": {"max_new_tokens": self.max_new_tokens, "greedy": True,
                             "dtype": self.dtype or "auto (float16 on GPU, float32 on CPU)"}}
