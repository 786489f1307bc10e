"""The frozen-PhysNet runner (pipeline/backbone.py)."""

import numpy as np
import torch

from physllm.model.physnet import diff_normalize_frames, feature_shapes, load_physnet
from physllm.pipeline.backbone import BackboneRunner


def test_on_a_cpu_the_runner_reads_two_clips_at_a_time_whatever_the_part(random_physnet):
    assert BackboneRunner(random_physnet, device="cpu", batch_size=8).batch_size == 2
    assert BackboneRunner(random_physnet, device="cpu", batch_size=1).batch_size == 1


def test_runner_batches_match_one_forward_pass_per_clip(random_physnet):
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 72, 72, 3), dtype=np.uint8)
    out = BackboneRunner(random_physnet, batch_size=2).run(frames)
    assert out.wave.shape == (3, 32)
    assert [f.shape[1:] for f in out.features] == feature_shapes(32)
    model = load_physnet(random_physnet)
    with torch.no_grad():
        x = torch.from_numpy(diff_normalize_frames(frames[2])).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
        ref = model(x)
    np.testing.assert_allclose(out.wave[2], ref.wave[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.features[3][2], ref.features[3][0].numpy(), rtol=1e-4, atol=1e-5)
