import math

import pytest
import torch

from physllm.model.tpg import TPG, TPGConfig

D_IN, D_LLM, VOCAB = 12, 16, 50


@pytest.fixture
def tpg():
    torch.manual_seed(0)
    return TPG(TPGConfig(num_prototypes=6, num_heads=2, head_dim=4, dropout=0.0), D_IN, D_LLM, VOCAB)


@pytest.fixture
def words():
    return torch.randn(VOCAB, D_LLM, generator=torch.Generator().manual_seed(1))


def reprogramming_reference(tpg: TPG, x: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
    """Time-LLM's ReprogrammingLayer, einsum for einsum, with source = mapping(W^T)^T."""
    B, L, _ = x.shape
    H = tpg.cfg.num_heads
    source = tpg.mapping(words.permute(1, 0)).permute(1, 0)
    q = tpg.query(x).view(B, L, H, -1)
    k = tpg.key(source).view(source.shape[0], H, -1)
    v = tpg.value(source).view(source.shape[0], H, -1)
    scores = torch.einsum("blhe,she->bhls", q, k)
    a = torch.softmax(scores / math.sqrt(q.shape[-1]), dim=-1)
    return tpg.out(torch.einsum("bhls,she->blhe", a, v).reshape(B, L, -1))


def test_is_time_llm_reprogramming_plus_the_residual_path(tpg, words):
    x = torch.randn(3, 5, D_IN, generator=torch.Generator().manual_seed(2))
    out = tpg(x, words)
    assert out.shape == (3, 5, D_LLM)
    torch.testing.assert_close(out - tpg.residual(x), reprogramming_reference(tpg, x, words))


def test_a_token_survives_near_uniform_attention(tpg, words):
    """At init the attention over prototypes is near uniform; the residual keeps tokens apart."""
    x = torch.randn(2, 5, D_IN, generator=torch.Generator().manual_seed(3))
    tpg.eval()  # no attention dropout: every token gets the very same prototype mixture
    with torch.no_grad():
        tpg.query.weight.zero_()  # exactly uniform attention: the reprogrammed part is constant
        out = tpg(x, words)
    torch.testing.assert_close(out[0, 0] - out[0, 1], tpg.residual(x[0, 0]) - tpg.residual(x[0, 1]),
                               atol=1e-5, rtol=1e-4)


def test_prototypes_are_a_linear_map_of_the_vocabulary(tpg, words):
    protos = tpg.prototypes(words)
    assert protos.shape == (6, D_LLM)
    torch.testing.assert_close(protos, tpg.mapping.weight @ words + tpg.mapping.bias[:, None])


def test_word_embeddings_stay_frozen(tpg, words):
    words.requires_grad_()
    tpg(torch.randn(1, 4, D_IN), words).sum().backward()
    assert words.grad is None
    assert tpg.mapping.weight.grad.abs().sum() > 0
