import numpy as np

from physllm import pulse
from physllm.train.augment import AugmentConfig, augment_clip, stretch_window
from physllm.train.data import Clip, ClipId


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
    clip = Clip(ClipId("synthetic/s1/vid", 0, 0), 30.0, tone(1.5, 128),
                [rng.standard_normal((64, n)).astype(np.float32) for n in (128, 64, 32, 32)],
                pulse.zscore(tone(1.5, 128)).astype(np.float32), {"task": "t", "vision": "v", "stats": "s"},
                tone(1.5, 128))
    out = augment_clip(clip, AugmentConfig(probability=1.0), rng)
    assert out.wave.shape == clip.wave.shape and [f.shape for f in out.features] == [f.shape for f in clip.features]
    assert out.chroma.shape == clip.chroma.shape and not np.allclose(out.chroma, clip.chroma)
    # both waves stretched alike: their noise differs, their tempo does not
    assert abs(pulse.hr_fft(out.wave, 30.0) - pulse.hr_fft(out.chroma, 30.0)) < 3
    assert abs(out.target.mean()) < 1e-5 and abs(out.target.std() - 1) < 1e-4
    assert not np.allclose(out.wave, clip.wave)
    assert augment_clip(clip, AugmentConfig(probability=0.0), rng) is clip
