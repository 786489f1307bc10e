"""Tiny PhysLLMs on both LLM families, and inputs that fit them."""

import pytest
import torch

from physllm.model.physllm import build_physllm
from tests.fixtures.tiny_models import tiny_physllm_config

CUES = {
    "task": ["estimate the pulse waveform", "estimate the pulse waveform from the face"],
    "vision": ["", "shadows on the left cheek, dim light"],  # an empty description must work
    "stats": ["min value -1.2, max value 2.5", "the trend of input is upward"],
}


@pytest.fixture(params=["qwen2", "bert"])
def llm_dir(request, tiny_qwen2_dir, tiny_bert_dir):
    return {"qwen2": tiny_qwen2_dir, "bert": tiny_bert_dir}[request.param]


@pytest.fixture
def tiny_model(llm_dir):
    torch.manual_seed(0)
    return build_physllm(tiny_physllm_config(llm_dir)).eval()


def make_inputs(model, batch: int = 2, seed: int = 0):
    """(wave, features, cue tokens, chrominance wave) of the shapes the model's config expects."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    wave = torch.randn(batch, cfg.clip_frames, generator=g)
    features = [torch.randn(batch, cfg.feature_channels, n, generator=g) for n in cfg.feature_lengths]
    cues = model.tokenize_cues({k: v[:batch] for k, v in CUES.items()})
    chroma = torch.randn(batch, cfg.clip_frames, generator=g)
    return wave, features, cues, chroma


def perturb_zero_inits(model) -> None:
    """Give VA's γ, LoRA's B and the head's linear layer (zero at init, which blocks gradients
    behind them) small values."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad and ("gamma" in name or "lora_B" in name or name.startswith("head.linear")):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
