import pytest
import torch

from physllm.errors import PhysllmError
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


def test_starts_as_the_mean_of_every_scale_position_by_position(va, features):
    scales = va.tokens(features, TOKENS)
    torch.testing.assert_close(va(features, TOKENS), sum(scales) / len(scales))
    changed = [f.clone() for f in features]
    changed[0][..., 8:12] += 1.0  # the shallowest map's frames 8–11 → token 2 (of 8 over 32 frames)
    moved = (va(changed, TOKENS) - va(features, TOKENS)).abs().amax(-1) > 1e-6  # (B, N)
    assert moved[:, 2].all() and moved.sum() == 2  # that token only, in both clips


def test_the_papers_base_starts_as_the_deepest_map(features):
    torch.manual_seed(0)
    va = VA(VAConfig(num_heads=4, dropout=0.0, base="deepest"), in_channels=64, num_scales=4, width=WIDTH)
    torch.testing.assert_close(va(features, TOKENS), va.tokens(features, TOKENS)[-1])
    changed = [f.clone() for f in features]
    changed[0] += 1.0  # a shallow scale cannot reach it before the gammas move
    torch.testing.assert_close(va(changed, TOKENS), va(features, TOKENS))


def test_an_unknown_base_is_refused():
    with pytest.raises(PhysllmError, match="unknown VA base 'first'"):
        VA(VAConfig(base="first"), in_channels=64, num_scales=4, width=WIDTH)


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
