"""PhysLLM's learned modules (DDS, VA, TPG, APL), the frozen LLM with LoRA, and checkpoints.

Import from the submodules (`physllm.model.physllm`, `.physnet`, `.checkpoint`, ...): this file
imports nothing, so a PhysNet worker never pays for importing transformers and peft.
"""
