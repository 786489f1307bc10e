"""PhysNet: shapes, rPPG-Toolbox checkpoint compatibility, DiffNormalized input, bad checkpoints."""

import numpy as np
import pytest
import torch

from physllm.errors import CheckpointError
from physllm.model.physnet import (FEATURE_SCALES, PhysNet, PhysNetConfig, diff_normalize_frames,
                                   feature_shapes, fold_batchnorm, load_physnet)
from tests.fixtures.released_weights import released_physnet

# wave[0, :4] of rPPG-Toolbox's own PhysNet_padding_Encoder_Decoder_MAX(128) on
# torch.manual_seed(0); torch.randn(1, 3, 128, 72, 72), computed with the toolbox's code.
TOOLBOX_WAVE_HEAD = {
    "BP4D_PseudoLabel_PhysNet_DiffNormalized.pth": [-3.20655, -1.50957, 1.30324, 2.09111],
    "MA-UBFC_physnet.pth": [-4.3198, -4.45933, -4.63286, -4.84232],
    "PURE_PhysNet_DiffNormalized.pth": [-6.06139, -6.9631, -6.75791, -5.17547],
    "SCAMPS_PhysNet_DiffNormalized.pth": [-2.35928, 1.78932, 10.69708, 23.82634],
    "UBFC-rPPG_PhysNet_DiffNormalized.pth": [-3.46317, -4.26142, -4.43093, -4.06623],
}


def test_forward_shapes_on_a_tiny_clip():
    model = PhysNet().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32, 32))  # (B, C, T, H, W)
    assert out.wave.shape == (2, 32)
    assert [tuple(f.shape[1:]) for f in out.features] == feature_shapes(32)
    assert all(f.shape[0] == 2 for f in out.features)


def test_feature_shapes_follow_the_scales():
    assert FEATURE_SCALES == (1, 2, 4, 4)
    assert feature_shapes(128) == [(64, 128), (64, 64), (64, 32), (64, 32)]


def test_clip_length_not_divisible_by_four_is_refused():
    with pytest.raises(ValueError, match="divisible by 4"):
        PhysNet()(torch.randn(1, 3, 30, 16, 16))


def test_features_are_the_spatially_pooled_encoder_stages():
    model = PhysNet().eval()
    x = torch.randn(1, 3, 16, 32, 32)
    captured = {}
    model.ConvBlock5.register_forward_hook(lambda m, i, o: captured.setdefault("s2", o))
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out.features[1], captured["s2"].mean(dim=(3, 4)))


@pytest.mark.parametrize("name", sorted(TOOLBOX_WAVE_HEAD))
def test_folding_the_batchnorms_keeps_every_output(name):
    """The runner's inference model (fold_batchnorm): the released weights' wave and features on
    a DiffNormalized clip within 1e-3 of the model as trained."""
    model = load_physnet(released_physnet(name))
    clip = np.random.default_rng(0).integers(60, 200, (32, 72, 72, 3), dtype=np.uint8)
    x = torch.from_numpy(diff_normalize_frames(clip)).permute(3, 0, 1, 2)[None]
    with torch.no_grad():
        before = model(x)
        after = fold_batchnorm(model)(x)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in model.modules())
    torch.testing.assert_close(after.wave, before.wave, rtol=0, atol=1e-3)
    for folded, trained in zip(after.features, before.features):
        torch.testing.assert_close(folded, trained, rtol=0, atol=1e-3)


@pytest.mark.parametrize("name", sorted(TOOLBOX_WAVE_HEAD))
def test_released_checkpoint_matches_the_toolbox(name):
    model = load_physnet(released_physnet(name))
    assert not model.training
    torch.manual_seed(0)
    x = torch.randn(1, 3, 128, 72, 72)
    with torch.no_grad():
        out = model(x)
    assert out.wave.shape == (1, 128)
    torch.testing.assert_close(out.wave[0, :4], torch.tensor(TOOLBOX_WAVE_HEAD[name]),
                               atol=1e-3, rtol=1e-4)


def test_physllm_checkpoint_with_provenance_and_module_prefix_loads(tmp_path):
    source = PhysNet()
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    path = tmp_path / "ours.pth"
    torch.save({"state_dict": state, "physllm": {"dataset": "synthetic"}}, path)
    loaded = load_physnet(path)
    torch.testing.assert_close(loaded.ConvBlock10.weight, source.ConvBlock10.weight)


def test_checkpoint_with_wrong_keys_lists_them(tmp_path):
    state = PhysNet().state_dict()
    state.pop("ConvBlock10.bias")
    state["extra.weight"] = torch.zeros(1)
    state["ConvBlock1.0.weight"] = torch.zeros(16, 4, 1, 5, 5)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_physnet(path)
    message = str(err.value)
    assert str(path) in message
    assert "ConvBlock10.bias" in message and "extra.weight" in message
    assert "ConvBlock1.0.weight: checkpoint (16, 4, 1, 5, 5)" in message


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_non_checkpoint_file_is_a_checkpoint_error(tmp_path, content):
    path = tmp_path / "weights.pth"
    if content is None:
        torch.save([1, 2, 3], path)  # loads, but is no state_dict
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="weights.pth"):
        load_physnet(path)


def test_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_physnet(tmp_path / "absent.pth")


def test_diff_normalize_frames_by_hand():
    # one pixel, one channel varying: 10 → 30 → 30; others constant (difference 0)
    frames = np.full((3, 1, 1, 3), 50, dtype=np.uint8)
    frames[:, 0, 0, 0] = [10, 30, 30]
    out = diff_normalize_frames(frames)
    # raw differences: (30-10)/(40) = 0.5 and 0, the rest 0; 6 values, std = sqrt(5)/12
    std = np.std([0.5, 0, 0, 0, 0, 0])
    assert out.dtype == np.float32 and out.shape == (3, 1, 1, 3)
    np.testing.assert_allclose(out[:, 0, 0, 0], [0.5 / std, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(out[:, 0, 0, 1:], 0.0)


def test_diff_normalize_frames_constant_video_is_zero_not_nan():
    out = diff_normalize_frames(np.zeros((4, 2, 2, 3), dtype=np.uint8))
    np.testing.assert_array_equal(out, 0.0)


def test_config_defaults_are_the_toolbox_settings():
    cfg = PhysNetConfig()
    assert (cfg.frames, cfg.in_channels, cfg.image_size) == (128, 3, 72)


def test_ubfc_checkpoint_finds_the_pulse_of_an_easy_rendered_video(tmp_path):
    """Issue #3: on an easy synthetic video (bright, still, clean) through the pipeline's own
    crop, the UBFC-rPPG checkpoint's FFT heart rate is the truth's, in phase with the PPG."""
    from physllm.data_catalog.synthetic import scan
    from physllm.render.synthetic import SynthConfig, write_synthetic_dataset
    from physllm.pipeline.clips import ClipConfig, record_clips
    from physllm.pulse import hr_fft, to_pulse

    model = load_physnet(released_physnet("UBFC-rPPG_PhysNet_DiffNormalized.pth"))
    # subject 1 is easy with a light skin tone; 18 s → 4 clips of 128 frames, 3.5-bpm FFT bins. A ~1%
    # pulse, twice a real face's: this checks the crop and the input, not the checkpoint's reach (at
    # 0.2–0.6% it misses some easy renders: bench/conditions.py)
    write_synthetic_dataset(tmp_path, SynthConfig(num_subjects=1, seconds=18.0, easy_fraction=1.0,
                                                  pulse_amplitude_range=(0.008, 0.016)))
    (record,) = scan(tmp_path)
    clips = list(record_clips(record, ClipConfig()))
    x = diff_normalize_frames(np.concatenate([c.frames for c in clips]))  # (N·T, 72, 72, 3)
    x = torch.from_numpy(np.stack(np.split(x, len(clips)))).permute(0, 4, 1, 2, 3)  # (N, 3, T, H, W)
    with torch.no_grad():
        pulse = to_pulse(model(x).wave.reshape(-1).numpy(), record.fps, diff=True)
    truth = to_pulse(np.concatenate([c.ppg for c in clips]), record.fps)
    assert abs(hr_fft(pulse, record.fps) - hr_fft(truth, record.fps)) <= 3.6
    assert np.corrcoef(pulse, truth)[0, 1] > 0.3
