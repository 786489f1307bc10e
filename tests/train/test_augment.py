import numpy as np

from physllm import pulse
from physllm.train.augment import AugmentConfig, augment_clip, stretch_window
from physllm.train.data import ClipId, ShardClip


def tone(hz: float, length: int, frames: int = 128, fps: float = 30.0) -> np.ndarray:
    t = (np.arange(length) + 0.5) * (frames / length) / fps
    return np.sin(2 * np.pi * hz * t).astype(np.float32)


def test_stretch_slows_every_stream_alike():
    """A window of T/s frames spread over T: a 0.75 Hz tone becomes 0.75/s Hz, at any sampling."""
    for length in (128, 64, 32):
        stretched = stretch_window(tone(0.75, length), start=0.0, factor=1.25, frames=128)
        np.testing.assert_allclose(stretched[1:], tone(0.6, length)[1:], atol=0.06)  # linear interpolation; sample 0 on the edge


def test_augmented_clip_keeps_shapes_and_a_z_scored_target():
    rng = np.random.default_rng(0)
    clip = ShardClip(ClipId("synthetic/s1/vid", 0, 0), 30.0, tone(1.5, 128),
                [rng.standard_normal((64, n)).astype(np.float32) for n in (128, 64, 32, 32)],
                pulse.zscore(tone(1.5, 128)).astype(np.float32), {"task": "t", "vision": "v", "stats": "s"},
                tone(1.5, 128))
    out = augment_clip(clip, AugmentConfig(probability=1.0, corrupt=(0.0, 0.0, 0.0)), rng)
    assert out.wave.shape == clip.wave.shape and [f.shape for f in out.features] == [f.shape for f in clip.features]
    assert out.chroma.shape == clip.chroma.shape and not np.allclose(out.chroma, clip.chroma)
    # both waves stretched alike: their noise differs, their tempo does not
    assert abs(pulse.hr_fft(out.wave, 30.0) - pulse.hr_fft(out.chroma, 30.0)) < 3
    assert abs(out.target.mean()) < 1e-5 and abs(out.target.std() - 1) < 1e-4
    assert not np.allclose(out.wave, clip.wave)
    assert augment_clip(clip, AugmentConfig(probability=0.0, corrupt=(0.0, 0.0, 0.0)), rng) is clip


def test_corruption_makes_the_chosen_input_wrong_and_keeps_the_label():
    """Each share of `corrupt` makes that input's rate another one (or noise) and leaves the
    other input and the label as they were."""
    from physllm.train.augment import corrupt_inputs

    rng = np.random.default_rng(0)
    clip = ShardClip(ClipId("synthetic/s1/vid", 0, 0), 30.0, tone(1.2, 128),
                [rng.standard_normal((64, n)).astype(np.float32) for n in (128, 64, 32, 32)],
                pulse.zscore(tone(1.2, 128)).astype(np.float32), {"task": "t", "vision": "v", "stats": "s"},
                tone(1.2, 128))
    only_backbone = corrupt_inputs(clip, AugmentConfig(corrupt=(1.0, 0.0, 0.0)), rng)
    assert not np.allclose(only_backbone.wave, clip.wave) and only_backbone.chroma is clip.chroma
    assert not np.allclose(only_backbone.features[0], clip.features[0])
    only_chroma = corrupt_inputs(clip, AugmentConfig(corrupt=(0.0, 1.0, 0.0)), rng)
    assert only_chroma.wave is clip.wave and not np.allclose(only_chroma.chroma, clip.chroma)
    both = corrupt_inputs(clip, AugmentConfig(corrupt=(0.0, 0.0, 1.0)), rng)
    assert not np.allclose(both.wave, clip.wave) and not np.allclose(both.chroma, clip.chroma)
    assert corrupt_inputs(clip, AugmentConfig(corrupt=(0.0, 0.0, 0.0)), rng) is clip
    assert all(c.target is clip.target for c in (only_backbone, only_chroma, both))
    # over many draws the interference moves the peak on more than half of the clips (on the rest the
    # wave is a weaker reading of the right rate)
    moved = [abs(pulse.hr_fft(corrupt_inputs(clip, AugmentConfig(corrupt=(1.0, 0.0, 0.0)), rng).wave, 30.0) - 72) > 6
             for _ in range(50)]
    assert np.mean(moved) > 0.5
