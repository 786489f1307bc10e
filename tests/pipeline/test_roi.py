"""Skin pixels and skin regions (pipeline/roi.py)."""

import numpy as np

from physllm.pipeline.roi import MOSTLY_SKIN, clip_skin_means, mostly_skin, skin_box, skin_fraction

SKIN = (200, 140, 120)  # RGB of light skin: Cr ≈ 152, Cb ≈ 113
GREEN_WALL = (40, 160, 60)


def test_skin_mean_reads_the_skin_pixels_only():
    region = np.zeros((20, 20, 3), np.uint8)
    region[:] = GREEN_WALL
    region[:, :10] = SKIN
    np.testing.assert_allclose(clip_skin_means(region[None])[0], SKIN, atol=0.5)
    assert skin_fraction(region) == 0.5


def test_a_region_the_skin_rule_rejects_is_averaged_whole():
    region = np.full((10, 10, 3), GREEN_WALL, np.uint8)
    np.testing.assert_allclose(clip_skin_means(region[None])[0], GREEN_WALL)


def test_skin_box_is_the_largest_skin_area():
    frame = np.full((100, 100, 3), GREEN_WALL, np.uint8)
    frame[20:60, 30:80] = SKIN
    frame[90:92, 0:2] = SKIN  # speckle
    assert skin_box(frame) == (30, 20, 50, 40)
    assert skin_box(np.full((50, 50, 3), GREEN_WALL, np.uint8)) is None


def test_one_skin_mask_per_clip_so_pixels_at_the_threshold_do_not_flicker():
    patches = np.full((2, 4, 4, 3), GREEN_WALL, np.uint8)
    patches[:, :, :2] = SKIN
    patches[1, :, 2] = SKIN  # frame 1: a column turns skin-coloured, the clip's mask keeps it out
    means = clip_skin_means(patches)
    np.testing.assert_allclose(means, [SKIN, SKIN], atol=0.5)


def test_a_pale_skin_crop_under_cool_light_is_mostly_skin_and_grey_is_not():
    from tests.pipeline.test_clips import pale_forehead_video

    crop = pale_forehead_video(seconds=1.0)[0]  # Cb ~ 130: outside Chai & Ngan's 77-127
    assert skin_fraction(crop) < MOSTLY_SKIN and mostly_skin(crop)
    assert not mostly_skin(np.full((50, 50, 3), 128, np.uint8))
    assert not mostly_skin(np.full((50, 50, 3), GREEN_WALL, np.uint8))
