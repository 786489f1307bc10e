"""Face detection, the toolbox's box geometry and tracking helpers (pipeline/face.py)."""

import cv2
import numpy as np
import pytest

from physllm.data_catalog import scan
from physllm.pipeline.face import (FaceConfig, crop_box, detect_face, detection_gain, face_template, inner_face,
                                   interpolate_boxes, locate_template, scale_box, steady_box)


@pytest.fixture(scope="module")
def frame(synthetic_root):
    return next(scan("synthetic", synthetic_root)[0].frames())  # subject1: easy (still, bright)


def test_crop_box_is_the_toolbox_1_5x_about_the_centre_and_clipped():
    assert crop_box((40, 40, 20, 20), FaceConfig(), (100, 100)) == (35, 35, 30, 30)
    assert crop_box((0, 90, 20, 20), FaceConfig(), (100, 100)) == (0, 85, 25, 15)  # clipped left, bottom


def test_inner_face_is_the_middle_of_the_box():
    x, y, w, h = inner_face((100, 100, 100, 100), (480, 640))
    assert (x, w) == (120, 60) and (y, h) == (115, 80)  # 60% wide, 80% high, 5% lower


def test_scale_box_keeps_the_centre():
    assert scale_box((10, 10, 20, 40), 0.5, (100, 100)) == (15, 20, 10, 20)


def test_a_box_holds_unless_the_face_moved():
    previous = (100, 50, 100, 100)
    assert steady_box((102, 49, 101, 100), previous, 0.05) == previous  # detector jitter: held
    assert steady_box((110, 50, 100, 100), previous, 0.05) == (110, 50, 100, 100)  # moved 10%
    assert steady_box((102, 49, 101, 100), None, 0.05) == (102, 49, 101, 100)  # the first detection


def test_the_template_finds_the_face_where_it_moved_and_nothing_in_a_flat_frame(frame):
    box = detect_face(frame, FaceConfig())
    template = face_template(frame, box)
    moved = np.roll(frame, (3, -6), axis=(0, 1))  # the face 6 px left, 3 px down
    (x, y, w, h), match = locate_template(moved, box, template)
    assert abs(x - (box[0] - 6)) <= 1 and abs(y - (box[1] + 3)) <= 1 and (w, h) == box[2:]
    assert match > 0.9
    assert locate_template(frame, box, template) == (box, pytest.approx(1.0, abs=1e-3))
    assert locate_template(np.full_like(frame, 127), box, template)[1] == -1.0


def test_boxes_are_interpolated_between_detections_and_held_outside():
    boxes = interpolate_boxes([(0, 0, 10, 10), (10, 20, 10, 10)], np.arange(12), np.array([0.0, 10.0]))
    assert boxes.shape == (12, 4) and boxes.dtype == np.int32
    assert tuple(boxes[5]) == (5, 10, 10, 10) and tuple(boxes[11]) == (10, 20, 10, 10)


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_both_detectors_find_the_rendered_face_in_one_geometry_and_nothing_in_noise(frame, detector):
    x, y, w, h = detect_face(frame, FaceConfig(detector=detector))
    assert 0 < w < frame.shape[1] and 0 < h <= frame.shape[0]
    noise = np.random.default_rng(0).integers(0, 255, frame.shape, dtype=np.uint8)
    assert detect_face(noise, FaceConfig(detector=detector)) is None


def test_the_two_detectors_agree_on_the_box(frame):
    mtcnn, haar = (np.array(detect_face(frame, FaceConfig(detector=d))) for d in ("mtcnn", "haar"))
    centre = lambda b: b[:2] + b[2:] / 2  # noqa: E731
    assert np.abs(centre(mtcnn) - centre(haar)).max() <= 0.15 * haar[2]
    assert abs(mtcnn[2] - haar[2]) <= 0.2 * haar[2]


def test_mtcnn_finds_a_turned_and_a_dim_face_the_cascade_misses(frame):
    height, width = frame.shape[:2]
    turned = cv2.warpAffine(frame, cv2.getRotationMatrix2D((width / 2, height / 2), 35, 1), (width, height),
                            borderMode=cv2.BORDER_REFLECT)
    assert detect_face(turned, FaceConfig(detector="mtcnn")) is not None
    assert detect_face(turned, FaceConfig(detector="haar")) is None


def test_detection_gain_brightens_a_dim_frame_only():
    dim = np.full((8, 8, 3), 50, np.uint8)
    assert detection_gain(dim).max() == 220
    bright = np.full((8, 8, 3), 230, np.uint8)
    assert detection_gain(bright) is bright


def test_yunet_finds_the_rendered_face_in_the_cascades_geometry_and_nothing_in_noise(frame):
    yunet, haar = (np.array(detect_face(frame, FaceConfig(detector=d))) for d in ("yunet", "haar"))
    assert np.abs(yunet[:2] + yunet[2:] / 2 - haar[:2] - haar[2:] / 2).max() <= 0.15 * haar[2]
    assert abs(yunet[2] - haar[2]) <= 0.2 * haar[2]
    noise = np.random.default_rng(0).integers(0, 255, frame.shape, dtype=np.uint8)
    assert detect_face(noise, FaceConfig(detector="yunet")) is None


def test_the_default_chain_keeps_every_face_mtcnn_finds(frame):
    assert FaceConfig().detector == "mtcnn+yunet"
    assert detect_face(frame, FaceConfig()) == detect_face(frame, FaceConfig(detector="mtcnn"))


def test_an_unknown_detector_in_a_chain_is_refused():
    from physllm.errors import PhysllmError

    with pytest.raises(PhysllmError, match="unknown face detector 'retina' in 'mtcnn\\+retina'"):
        FaceConfig(detector="mtcnn+retina")
