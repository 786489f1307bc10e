import json

import pytest
import torch

from physllm.errors import CheckpointError
from physllm.model.checkpoint import load_trainable, save_trainable
from physllm.model.physllm import build_physllm
from tests.fixtures.tiny_models import tiny_physllm_config
from tests.model.conftest import make_inputs, perturb_zero_inits


@pytest.fixture
def trained(tiny_model):
    """A model whose every trainable weight differs from a fresh build's."""
    perturb_zero_inits(tiny_model)
    with torch.no_grad():
        for p in tiny_model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    return tiny_model


def test_save_then_load_gives_identical_outputs(trained, tmp_path):
    save_trainable(trained, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "adapters.safetensors", "lora"}
    assert (tmp_path / "lora" / "adapter_config.json").is_file()
    loaded = load_trainable(tmp_path)
    assert not loaded.training
    inputs = make_inputs(trained)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs), trained.eval()(*inputs), rtol=0, atol=0)
    assert loaded.cfg == trained.cfg


def test_a_folder_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="config.json"):
        load_trainable(tmp_path)


def test_a_config_that_does_not_fit_the_weights_is_refused(trained, tmp_path):
    save_trainable(trained, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["bypass"] = False  # the same parameter names, other shapes
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="other shapes"):
        load_trainable(tmp_path)


def test_a_lora_of_another_rank_is_refused(trained, tmp_path):
    save_trainable(trained, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["lora_r"] = 2
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="LoRA"):
        load_trainable(tmp_path)


def test_a_checkpoint_from_before_the_head_bypass_va_base_and_chrominance_settings_loads_as_it_was_trained(
        llm_dir, tmp_path):
    cfg = tiny_physllm_config(llm_dir)
    cfg.head, cfg.bypass, cfg.va.base, cfg.chrominance = "flatten", False, "deepest", False  # the model of those days
    torch.manual_seed(0)
    old = build_physllm(cfg).eval()
    perturb_zero_inits(old)
    save_trainable(old, tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["head"], saved["bypass"], saved["va"]["base"], saved["chrominance"]  # what such a config.json holds
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded = load_trainable(tmp_path).eval()
    assert (loaded.cfg.head, loaded.cfg.bypass, loaded.cfg.va.base, loaded.cfg.chrominance) == \
        ("flatten", False, "deepest", False)
    inputs = make_inputs(old)
    torch.testing.assert_close(loaded(*inputs), old(*inputs), rtol=0, atol=0)


def test_unknown_config_keys_are_refused(trained, tmp_path):
    save_trainable(trained, tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"llm": "minilm", "warp_drive": 9}))
    with pytest.raises(CheckpointError, match="warp_drive"):
        load_trainable(tmp_path)
