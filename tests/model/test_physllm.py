import pytest
import torch
from peft import LoraConfig, get_peft_model

from physllm.errors import PhysllmError
from physllm.model.physllm import FlattenHead, PhysLLMConfig, TokenHead, build_physllm
from physllm.model.llm import load_llm
from tests.fixtures.tiny_models import tiny_physllm_config
from tests.model.conftest import make_inputs, perturb_zero_inits


def test_forward_shape_and_token_count(tiny_model):
    wave, features, cues, chroma = make_inputs(tiny_model)
    assert tiny_model.cfg.num_tokens == tiny_model.cfg.clip_frames // 4
    out = tiny_model(wave, features, cues, chroma)
    assert out.shape == wave.shape and torch.isfinite(out).all()


def test_tokenized_cues_are_bounded(tiny_model):
    long = {c: ["pulse " * 500] * 2 for c in tiny_model.cfg.apl.cue_types}
    tokens = tiny_model.tokenize_cues(long)
    assert all(t["input_ids"].shape == (2, tiny_model.cfg.apl.max_cue_tokens) for t in tokens.values())


def test_missing_cue_type_is_refused(tiny_model):
    with pytest.raises(PhysllmError, match="stats"):
        tiny_model.tokenize_cues({"task": ["a"], "vision": ["b"]})


def test_wrong_clip_length_is_refused(tiny_model):
    wave, features, cues, chroma = make_inputs(tiny_model)
    with pytest.raises(PhysllmError, match="wave must be"):
        tiny_model(wave[:, :-4], features, cues, chroma)


def test_instance_norm_is_undone(tiny_model):
    """Scaling and shifting the input waveform scales and shifts the output the same way."""
    wave, features, cues, chroma = make_inputs(tiny_model)
    out = tiny_model(wave, features, cues, chroma)
    torch.testing.assert_close(tiny_model(4 * wave + 7, features, cues, chroma), 4 * out + 7, atol=1e-3, rtol=1e-4)


def test_an_untrained_physllm_returns_the_backbone_wave(tiny_model):
    """The head starts at zero on top of the residual path: training starts from PhysNet's answer."""
    tiny_model.eval()
    wave, features, cues, chroma = make_inputs(tiny_model)
    torch.testing.assert_close(tiny_model(wave, features, cues, chroma), wave, atol=1e-4, rtol=1e-4)


def test_token_head_writes_each_token_into_its_own_frames():
    """Token i's states (vision i and signal i) change frames i·stride … (i+1)·stride − 1 only."""
    torch.manual_seed(0)
    head = TokenHead(width=6, num_tokens=8, stride=4, out_len=32, dropout=0.0, chrominance=False, trust=False)
    torch.nn.init.normal_(head.linear.weight)
    states, skip = torch.randn(1, 16, 6), torch.randn(1, 32)  # [vision 0..7; signal 0..7]
    base = head(states, skip)
    for token in (2, 8 + 5):  # a vision token, a signal token
        moved = states.clone()
        moved[:, token] += 1.0
        changed = (head(moved, skip) - base).abs().squeeze(0) > 1e-6
        first = 4 * (token % 8)
        assert changed[first:first + 4].all() and changed.sum() == 4


def test_token_head_needs_tokens_covering_the_clip():
    with pytest.raises(ValueError, match="cover fewer"):
        TokenHead(width=6, num_tokens=7, stride=4, out_len=32, dropout=0.0, chrominance=False, trust=False)


def test_the_papers_flatten_head_is_an_option(llm_dir):
    cfg = tiny_physllm_config(llm_dir)
    cfg.head, cfg.bypass = "flatten", False
    model = build_physllm(cfg).eval()
    assert isinstance(model.head, FlattenHead)
    wave, features, cues, chroma = make_inputs(model)
    torch.testing.assert_close(model(wave, features, cues, chroma), wave, atol=1e-4, rtol=1e-4)
    perturb_zero_inits(model)
    assert model(wave, features, cues, chroma).shape == wave.shape


def test_the_flatten_head_with_the_bypass_is_refused(llm_dir):
    cfg = tiny_physllm_config(llm_dir)
    cfg.head = "flatten"  # bypass on by default
    with pytest.raises(PhysllmError, match="bypass: false"):
        build_physllm(cfg)


@pytest.mark.parametrize("bypass", [True, False])
def test_the_token_head_reads_the_llm_inputs_beside_its_states_with_the_bypass(llm_dir, bypass):
    cfg = tiny_physllm_config(llm_dir)
    cfg.bypass = bypass
    torch.manual_seed(0)
    model = build_physllm(cfg).eval()
    seen = {}
    model.tpg.register_forward_hook(lambda module, args, out: seen.update(llm_inputs=out))
    model.head.register_forward_hook(lambda module, args, out: seen.update(states=args[0]))
    model(*make_inputs(model))
    d = model.word_embeddings.weight.shape[1]
    assert seen["states"].shape == (2, 2 * cfg.num_tokens, 2 * d if bypass else d)
    if bypass:  # the last d channels are the vision and signal tokens as the LLM received them
        torch.testing.assert_close(seen["states"][..., d:], seen["llm_inputs"])


def test_an_unknown_head_is_refused(llm_dir):
    cfg = tiny_physllm_config(llm_dir)
    cfg.head = "conv"
    with pytest.raises(PhysllmError, match="unknown head 'conv'"):
        build_physllm(cfg)


def test_one_tpg_serves_signal_and_vision(tiny_model):
    calls = []
    tiny_model.tpg.register_forward_hook(lambda module, args, out: calls.append(args[0].shape))
    tiny_model(*make_inputs(tiny_model))
    n, d = tiny_model.cfg.num_tokens, tiny_model.word_embeddings.weight.shape[1]
    assert calls == [(2, 2 * n, d)]  # vision and signal tokens together, in one call


def test_gradients_reach_every_trainable_parameter_and_no_frozen_one(tiny_model):
    perturb_zero_inits(tiny_model)
    tiny_model.train()
    tiny_model(*make_inputs(tiny_model)).pow(2).mean().backward()
    for name, p in tiny_model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name
    frozen = [n for n, p in tiny_model.llm.named_parameters() if not p.requires_grad]
    assert frozen and all("lora_" not in n for n in frozen)
    assert not tiny_model.word_embeddings.weight.requires_grad


def test_trainable_count_is_adapters_plus_lora(tiny_model):
    s = tiny_model.trainable_parameter_summary()
    assert s["trainable"] == s["adapters"] + s["lora"]
    assert s["frozen"] == sum(p.numel() for p in tiny_model.llm.parameters()) - s["lora"]


def lora_shapes(model) -> dict:
    return {n: p.shape for n, p in model.named_parameters() if "lora_" in n}


def test_lora_is_peft_lora_on_the_architecture_targets(tiny_model):
    """The same LoRA parameters as peft gives on the bare LLM with the paper's r, α, targets."""
    cfg = tiny_model.cfg
    llm, _ = load_llm(cfg.llm, dtype=cfg.llm_dtype)
    targets = ["q_proj", "v_proj"] if llm.config.model_type == "qwen2" else ["query", "value"]
    ref = get_peft_model(llm, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=targets))
    assert lora_shapes(tiny_model.llm) == lora_shapes(ref) and lora_shapes(ref)
    layer = next(m for n, m in tiny_model.llm.named_modules() if n.endswith(targets[0]))
    assert layer.scaling["default"] == cfg.lora_alpha / cfg.lora_r


def test_offline_minilm_builds_and_runs():
    torch.manual_seed(0)
    model = build_physllm(PhysLLMConfig(clip_frames=32)).eval()
    assert model.word_embeddings.weight.shape == (30522, 384)
    wave, features, cues, chroma = make_inputs(model, batch=1)
    with torch.no_grad():
        out = model(wave, features, cues, chroma)
    assert out.shape == (1, 32) and torch.isfinite(out).all()


def test_bf16_autocast_trains_as_the_gpu_path_does(tiny_model):
    """The trainer runs the forward under bf16 autocast on CUDA; CPU autocast takes the same
    dtype paths (ptwt's DWT in DDS rejects bf16, so DDS must leave autocast)."""
    perturb_zero_inits(tiny_model)
    tiny_model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = tiny_model(*make_inputs(tiny_model))
    assert out.shape == (2, tiny_model.cfg.clip_frames) and torch.isfinite(out).all()
    out.float().pow(2).mean().backward()
    assert tiny_model.patch_embedding.proj.weight.grad.abs().sum() > 0


def test_the_inputs_quality_sets_their_gains_per_clip(llm_dir):
    """Untrained, trust changes nothing (its map starts at 0); with a weight on the chrominance
    wave's band confidence, each clip takes that much of its chrominance wave (cues/test_quality.py:
    more for a clean tone than for noise); the paper's inputs have no trust map."""
    from physllm.cues.quality import band_peak

    torch.manual_seed(0)
    model = build_physllm(tiny_physllm_config(llm_dir)).eval()
    wave, features, cues, _ = make_inputs(model)
    t = torch.arange(model.cfg.clip_frames) / 30.0
    tone = torch.sin(2 * torch.pi * 1.3 * t)
    chroma = torch.stack([tone, torch.randn(model.cfg.clip_frames, generator=torch.Generator().manual_seed(1))])
    torch.testing.assert_close(model(wave, features, cues, chroma), wave, atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        model.head.trust.weight[1, 1] = 1.0  # chroma gain += band confidence of the chrominance wave
    gains = band_peak(chroma, model.cfg.fps)[0]  # (2,) band confidences; on clips this short they differ little
    std = wave.std(-1, unbiased=False, keepdim=True)
    c = (chroma - chroma.mean(-1, keepdim=True)) / chroma.std(-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(model(wave, features, cues, chroma), wave + gains[:, None] * c * std,
                               atol=1e-3, rtol=1e-3)

    cfg = tiny_physllm_config(llm_dir)
    cfg.chrominance = False  # trust weighs the chrominance wave: without it there is nothing to weigh
    assert build_physllm(cfg).head.trust is None


def test_the_chrominance_wave_is_read_beside_the_backbone_and_can_be_turned_off(llm_dir):
    """Untrained, the chrominance input changes nothing (its gain starts at 0, so training starts
    from PhysNet's answer); with a gain it is added in the wave's scale; off, it is ignored."""
    torch.manual_seed(0)
    model = build_physllm(tiny_physllm_config(llm_dir)).eval()
    wave, features, cues, chroma = make_inputs(model)
    torch.testing.assert_close(model(wave, features, cues, chroma), wave, atol=1e-4, rtol=1e-4)
    with pytest.raises(PhysllmError, match="chrominance"):
        model(wave, features, cues)
    with torch.no_grad():
        model.head.chroma_gain.fill_(0.5)
    std = wave.std(-1, unbiased=False, keepdim=True)
    c = (chroma - chroma.mean(-1, keepdim=True)) / chroma.std(-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(model(wave, features, cues, chroma), wave + 0.5 * c * std, atol=1e-3, rtol=1e-3)

    cfg = tiny_physllm_config(llm_dir)
    cfg.chrominance = False
    paper = build_physllm(cfg).eval()
    assert paper.chroma_embedding is None and paper.head.chroma_gain is None
    assert "chroma_embedding" not in paper.trainable_parameter_summary()
    torch.testing.assert_close(paper(wave, features, cues), paper(wave, features, cues, 100 * chroma))


def test_without_cue_types_the_llm_reads_the_signal_tokens_alone(llm_dir):
    """The paper's "w/o APL" ablation: no cue tokens, no APL module, the same output shape, and
    the cue texts have no say."""
    cfg = tiny_physllm_config(llm_dir)
    cfg.apl.cue_types = ()
    model = build_physllm(cfg).eval()
    assert model.apl is None and "apl" not in model.adapters()
    perturb_zero_inits(model)
    wave, features, _, chroma = make_inputs(model)
    out = model(wave, features, model.tokenize_cues({}), chroma)
    assert out.shape == wave.shape and torch.isfinite(out).all()
    torch.testing.assert_close(model(wave, features, {}, chroma), out)
