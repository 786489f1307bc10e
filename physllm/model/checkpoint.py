"""PhysLLM checkpoints: only what trains, as data — never pickled code.

    <dir>/config.json            the PhysLLMConfig (names the LLM to rebuild on)
    <dir>/adapters.safetensors   DDS, patch embedding, VA, TPG, APL, head
    <dir>/lora/                  the LoRA adapter in peft's own `save_pretrained` format
"""

import json
import pickle
from pathlib import Path

import torch
from peft import load_peft_weights, set_peft_model_state_dict
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from physllm.errors import CheckpointError, PhysllmError
from physllm.model.physllm import PhysLLM, PhysLLMConfig, build_physllm

CONFIG_FILE = "config.json"
ADAPTERS_FILE = "adapters.safetensors"
LORA_DIR = "lora"


def adapter_state(model: PhysLLM) -> dict[str, torch.Tensor]:
    """The non-LoRA trainable weights, keyed `<module>.<param>`."""
    return {
        f"{name}.{key}": t.detach().contiguous().cpu()
        for name, module in model.adapters().items()
        for key, t in module.state_dict().items()
    }


def save_trainable(model: PhysLLM, directory: str | Path) -> Path:
    """Write config, adapters and LoRA to `directory` (created if needed); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(model.cfg.to_dict(), indent=2))
    save_file(adapter_state(model), directory / ADAPTERS_FILE)
    model.llm.save_pretrained(directory / LORA_DIR)
    return directory


def read_config(directory: Path) -> PhysLLMConfig:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a PhysLLM checkpoint: expected {CONFIG_FILE} in it")
    try:
        config = json.loads(path.read_text())
        if not isinstance(config, dict):
            raise PhysllmError(f"expected a JSON object, got {type(config).__name__}")
        # settings that came after a checkpoint was saved: it was trained the way the model was then
        config.setdefault("head", "flatten")
        config.setdefault("bypass", False)
        config.setdefault("va", {}).setdefault("base", "deepest")
        config.setdefault("chrominance", False)
        config.setdefault("trust", False)
        # the per-clip fallback of earlier checkpoints is gone (cues.quality.video_gate replaced it)
        config.pop("gate_margin", None)
        return PhysLLMConfig.from_dict(config)
    except (ValueError, PhysllmError) as err:  # ValueError: not JSON, or not UTF-8 text
        raise CheckpointError(f"{path} is not a PhysLLM config: {err}") from None


def load_adapters(model: PhysLLM, path: Path) -> None:
    try:
        state = load_file(path)
    except (FileNotFoundError, SafetensorError) as err:
        raise CheckpointError(f"cannot read the adapter weights {path}: {err}") from err
    expected = adapter_state(model)
    missing, unexpected = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
    if missing or unexpected:
        raise CheckpointError(f"{path} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    wrong = [k for k in expected if expected[k].shape != state[k].shape]
    if wrong:
        k = wrong[0]
        raise CheckpointError(
            f"{path}: {len(wrong)} tensors have other shapes than the config builds, "
            f"e.g. {k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        )
    for name, module in model.adapters().items():
        prefix = f"{name}."
        module.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})


def load_lora(model: PhysLLM, directory: Path) -> None:
    try:
        state = load_peft_weights(str(directory), device="cpu")
    except (OSError, ValueError, SafetensorError) as err:
        raise CheckpointError(f"cannot read the LoRA adapter in {directory}: {err}") from None
    except pickle.UnpicklingError:  # peft's pickled fallback, adapter_model.bin, read weights_only
        raise CheckpointError(f"cannot read the LoRA adapter in {directory}: its adapter_model.bin "
                              f"holds more than tensors (refused, not run); expected the "
                              f"adapter_model.safetensors that `physllm train` writes") from None
    expected = {n for n, _ in model.llm.named_parameters() if "lora_" in n}
    try:
        result = set_peft_model_state_dict(model.llm, state)
    except RuntimeError as err:  # shapes: a LoRA of another rank or on another LLM
        raise CheckpointError(f"the LoRA adapter in {directory} does not fit the model: {err}") from err
    loaded = expected - {k for k in result.missing_keys if "lora_" in k}
    if result.unexpected_keys or loaded != expected:
        raise CheckpointError(
            f"the LoRA adapter in {directory} does not match the model: "
            f"{len(expected - loaded)} LoRA weights missing, unexpected {sorted(result.unexpected_keys)[:5]}"
        )


def load_trainable(directory: str | Path, device: str | torch.device = "cpu") -> PhysLLM:
    """Rebuild the model from the saved config, load its trained weights; eval mode on `device`."""
    directory = Path(directory)
    model = build_physllm(read_config(directory))
    load_adapters(model, directory / ADAPTERS_FILE)
    load_lora(model, directory / LORA_DIR)
    return model.to(device).eval()
