import cv2
import numpy as np
import pytest

from physllm.data_catalog.video_io import VideoInfo, open_video, probe_video
from physllm.errors import VideoError
from tests.data_catalog.dataset_writers import HEIGHT, WIDTH, frame_rgb, write_avi


@pytest.mark.parametrize("suffix, fourcc", [(".avi", "MJPG"), (".mp4", "mp4v"), (".mkv", "MJPG"), (".mov", "mp4v")])
def test_containers_stream_rgb_frames_in_order(tmp_path, suffix, fourcc):
    path = tmp_path / f"clip{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (WIDTH, HEIGHT))
    for i in range(12):
        writer.write(cv2.cvtColor(frame_rgb(i), cv2.COLOR_RGB2BGR))
    writer.release()

    assert probe_video(path) == VideoInfo(num_frames=12, fps=25.0, height=HEIGHT, width=WIDTH)
    frames = list(open_video(path))
    assert len(frames) == 12 and frames[0].dtype == np.uint8 and frames[0].shape == (HEIGHT, WIDTH, 3)
    reds = [float(f[..., 0].mean()) for f in frames]
    np.testing.assert_allclose(reds, [10 + 5 * i for i in range(12)], atol=4)  # lossy codecs
    assert frames[0][..., 2].mean() > 190 and frames[0][..., 1].mean() < 10  # RGB, not BGR


def test_image_folder_is_read_in_numeric_order(tmp_path):
    for i in (0, 1, 2, 10, 11):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), cv2.cvtColor(frame_rgb(i), cv2.COLOR_RGB2BGR))
    frames = list(open_video(tmp_path))
    assert [int(f[0, 0, 0]) for f in frames] == [10 + 5 * i for i in (0, 1, 2, 10, 11)]  # PNG is lossless
    info = probe_video(tmp_path, fps=30.0)
    assert (info.num_frames, info.fps, info.height, info.width) == (5, 30.0, HEIGHT, WIDTH)
    with pytest.raises(VideoError, match="frame rate"):
        probe_video(tmp_path)


def test_garbage_missing_and_truncated_videos_raise_video_error(tmp_path):
    garbage = tmp_path / "vid.avi"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(VideoError, match="vid.avi"):
        probe_video(garbage)
    with pytest.raises(VideoError, match="vid.avi"):
        list(open_video(garbage))
    with pytest.raises(VideoError, match="no such"):
        open_video(tmp_path / "absent.avi")

    whole = write_avi(tmp_path / "whole.avi", 40)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(VideoError, match="truncated"):
        list(open_video(cut))


def test_folder_without_images_raises(tmp_path):
    (tmp_path / "notes.txt").write_text("no frames here")
    with pytest.raises(VideoError, match="no image frames"):
        list(open_video(tmp_path))
