import pytest
import torch
from torch import nn

from physllm.model.apl import APL, APLConfig

WIDTH = 16


@pytest.fixture
def apl():
    torch.manual_seed(0)
    return APL(APLConfig(tokens_per_cue=3, num_heads=4, gate_hidden=8, dropout=0.0), WIDTH)


@pytest.fixture
def embed():
    torch.manual_seed(1)
    return nn.Embedding(30, WIDTH).requires_grad_(False)


def cue(ids: list[list[int]], pad: int = 0) -> dict[str, torch.Tensor]:
    length = max(len(row) for row in ids)
    return {
        "input_ids": torch.tensor([row + [pad] * (length - len(row)) for row in ids]),
        "attention_mask": torch.tensor([[1] * len(row) + [0] * (length - len(row)) for row in ids]),
    }


@pytest.fixture
def cues():
    return {"task": cue([[1, 2, 3], [4, 5]]), "vision": cue([[6], [7, 8, 9, 10]]), "stats": cue([[11, 12], [13]])}


def test_shape(apl, embed, cues):
    assert apl(cues, embed).shape == (2, 3 * 3, WIDTH)


def test_padding_is_ignored(apl, embed, cues):
    out = apl(cues, embed)
    padded = {k: {n: torch.nn.functional.pad(t, (0, 4), value=0) for n, t in v.items()} for k, v in cues.items()}
    padded["task"]["input_ids"][:, -4:] = 29  # whatever sits under the mask must not matter
    torch.testing.assert_close(apl(padded, embed), out)


def test_type_weights_scale_each_type_and_average_one(apl, embed, cues):
    pooled = torch.randn(2, 3, WIDTH)
    w = apl.type_weights(pooled)
    torch.testing.assert_close(w.mean(-1), torch.ones(2))
    with torch.no_grad():  # a constant gate weighs every type 1
        apl.gate[-1].weight.zero_()
    even = apl(cues, embed)
    unscaled = torch.stack([apl.compress_one(c, embed(cues[c]["input_ids"]), cues[c]["attention_mask"].bool())
                            for c in apl.cfg.cue_types], 1).flatten(1, 2)
    torch.testing.assert_close(even, unscaled)  # uniform weights are the identity


def test_weights_depend_on_the_sample(apl, embed, cues):
    pooled = torch.stack([torch.zeros(3, WIDTH), torch.randn(3, WIDTH)])
    w = apl.type_weights(pooled)
    assert not torch.allclose(w[0], w[1])


def test_empty_text_gives_finite_tokens(apl, embed):
    empty = {"input_ids": torch.zeros(2, 1, dtype=torch.long), "attention_mask": torch.zeros(2, 1, dtype=torch.long)}
    out = apl({"task": empty, "vision": empty, "stats": empty}, embed)
    assert torch.isfinite(out).all()


def test_gradients_reach_every_parameter(apl, embed, cues):
    apl(cues, embed).pow(2).sum().backward()
    for name, p in apl.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
