"""PhysLLM's learned modules (DDS, VA, TPG, APL), the frozen LLM with LoRA, and checkpoints.

PhysNet lives in `physllm.model.physnet` and is imported from there (the pipeline runs it).
"""

from physllm.model.checkpoint import load_trainable, save_trainable
from physllm.model.llm import load_llm
from physllm.model.physllm import PhysLLM, PhysLLMConfig, build_physllm

__all__ = ["PhysLLM", "PhysLLMConfig", "build_physllm", "load_llm", "load_trainable", "save_trainable"]
