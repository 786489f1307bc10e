import pytest
import torch

from physllm.model.va import VA, VAConfig

WIDTH, TOKENS = 16, 8


@pytest.fixture
def va():
    torch.manual_seed(0)
    return VA(VAConfig(num_heads=4, dropout=0.0), in_channels=64, num_scales=4, width=WIDTH)


@pytest.fixture
def features():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(2, 64, n, generator=g) for n in (32, 16, 8, 8)]  # (B, 64, T_s) at T, T/2, T/4, T/4


def test_shape(va, features):
    assert va(features, TOKENS).shape == (2, TOKENS, WIDTH)


def test_starts_as_the_deepest_map(va, features):
    deepest = va.tokens(features, TOKENS)[-1]
    torch.testing.assert_close(va(features, TOKENS), deepest)


def test_deepest_map_tokens_are_its_pooled_mlp(va, features):
    """The deepest map at T/4 is already N long, so its tokens are the MLP of its columns."""
    expected = va.lift[-1](features[-1].transpose(1, 2))
    torch.testing.assert_close(va.tokens(features, TOKENS)[-1], expected)


def test_gammas_let_shallow_scales_in(va, features):
    with torch.no_grad():
        va.gamma1.fill_(0.5)
        va.gamma2.fill_(0.5)
    before = va(features, TOKENS)
    changed = [f.clone() for f in features]
    changed[0] += 1.0  # a shallow scale only
    assert not torch.allclose(va(changed, TOKENS), before)


def test_every_parameter_gets_a_gradient_once_gammas_move(va, features):
    with torch.no_grad():
        va.gamma1.fill_(0.5)
        va.gamma2.fill_(0.5)
    va(features, TOKENS).pow(2).sum().backward()
    for name, p in va.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_needs_two_scales():
    with pytest.raises(ValueError, match="two feature scales"):
        VA(VAConfig(), in_channels=64, num_scales=1, width=WIDTH)
