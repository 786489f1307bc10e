import pytest
import torch

from physllm.errors import PhysllmError
from physllm.model.llm import default_lora_targets, load_llm, minilm_dir


def test_loads_a_causal_checkpoint_as_its_base_model(tiny_qwen2_dir):
    model, tokenizer = load_llm(str(tiny_qwen2_dir))
    assert type(model).__name__ == "Qwen2Model" and not model.training
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    assert default_lora_targets(model) == ["q_proj", "v_proj"]


def test_dtype(tiny_bert_dir):
    model, _ = load_llm(str(tiny_bert_dir), dtype=torch.bfloat16)
    assert model.get_input_embeddings().weight.dtype == torch.bfloat16
    assert default_lora_targets(model) == ["query", "value"]


def test_minilm_is_found_without_importing_its_package():
    assert (minilm_dir() / "model.safetensors").is_file()
    model, _ = load_llm("minilm")
    assert model.config.hidden_size == 384


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(PhysllmError, match="config.json"):
        load_llm(str(tmp_path))


def test_an_unreachable_hub_id_is_refused(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PhysllmError, match="cannot load the language model 'no-such-org/no-such-model'"):
        load_llm("no-such-org/no-such-model")


def test_unknown_architecture_asks_for_targets(tiny_bert_dir):
    model, _ = load_llm(str(tiny_bert_dir))
    model.config.model_type = "mystery"
    with pytest.raises(PhysllmError, match="lora_targets"):
        default_lora_targets(model)


@pytest.mark.filterwarnings("ignore:Cannot enable progress bars")  # tests/conftest.py turns hub bars off
def test_loading_prints_no_progress_bar_and_leaves_the_setting(tiny_bert_dir, capfd):
    from transformers.utils import logging as hf_logging

    before = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()  # the user's own transformers setting: bars on
    try:
        load_llm(str(tiny_bert_dir))
        assert "Loading weights" not in capfd.readouterr().err  # a bar on every model build was noise
        assert hf_logging.is_progress_bar_enabled()  # and the setting is theirs again
    finally:
        (hf_logging.enable_progress_bar if before else hf_logging.disable_progress_bar)()
