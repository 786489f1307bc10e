"""The arithmetic of the capacity plan and the growth table (bench/capacity.py, bench/growth.py),
against answers worked by hand."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


capacity = load("capacity")
growth = load("growth")
cluster = load("cluster_scaling")

COSTS = capacity.Costs(decode=0.5, front_end=1.0, physnet_cpu=4.0, describer_fast=0.5)
MODELS = capacity.Models(physnet_flops_per_frame=1e9, physnet_util=0.1, llava_llm_params=1e9,
                         llava_vision_params=0.5e9, llava_image_tokens=99, llava_text_tokens=1,
                         llava_new_tokens=10, llava_batch=2, llava_util=0.5)
GPU = capacity.Gpu(bf16_flops=1e13, hbm_bytes_per_s=1e12)
HOUR = capacity.Dataset("one hour", 1.0, 2.0, "")  # 108,000 frames at 30 fps, twice the renders' pixels


def test_a_laptop_runs_every_stage_on_its_cores():
    plan = capacity.throughput(COSTS, MODELS, GPU, HOUR, capacity.Machine("laptop", 2, 0), "fast")
    # decode 0.5 × 2 + front end 1 + describer 0.5 = 2.5 ms, + PhysNet 4 = 6.5 ms of a core; 2 cores
    assert plan.frames_per_s == pytest.approx(2000 / 6.5)
    assert capacity.hours(HOUR, plan) == pytest.approx(108_000 * 6.5 / 2000 / 3600)
    assert plan.bottleneck == "PhysNet on the CPU"


def test_a_gpu_node_is_held_by_the_slower_side_and_says_how_many_cores_feed_a_gpu():
    node = capacity.Machine("node", 10, 2)
    plan = capacity.throughput(COSTS, MODELS, GPU, HOUR, node, "fast")
    # CPU: 10 - 2 feeding cores / 2.5 ms = 3200 frames/s; GPU: 1 GFLOP at 10% of 10 TFLOP/s = 1 ms, 2 GPUs = 2000
    assert (plan.cpu_frames_per_s, plan.gpu_frames_per_s) == pytest.approx((3200, 2000))
    assert plan.frames_per_s == pytest.approx(2000) and plan.bottleneck == "GPU: PhysNet"
    assert plan.cores_per_gpu_to_feed == pytest.approx(2.5)
    eight = capacity.throughput(COSTS, MODELS, GPU, HOUR, capacity.Machine("eight", 10, 2, 8), "fast")
    assert eight.frames_per_s == pytest.approx(8 * 2000)


def test_llava_per_keyframe_prefill_by_flops_decode_by_the_slower_of_flops_and_weights():
    prefill, decode = MODELS.llava_flops()
    assert prefill == pytest.approx(2 * 0.5e9 * 100 + 2 * 1e9 * 100)  # 3e11
    assert decode == pytest.approx(2 * 1e9 * 10)
    # prefill 3e11 / 5e12 = 60 ms; decode: FLOPs 4 ms, weights 2 GB / 1 TB/s / batch 2 × 10 tokens = 10 ms
    assert capacity.llava_gpu_s_per_keyframe(MODELS, GPU) == pytest.approx(0.070)
    node = capacity.Machine("node", 10, 2)
    plan = capacity.throughput(COSTS, MODELS, GPU, HOUR, node, "llava")
    gpu_ms = 1.0 + 70.0 / 128  # PhysNet + a keyframe per 128 frames
    assert plan.gpu_frames_per_s == pytest.approx(2 * 1000 / gpu_ms)
    assert plan.cores_per_gpu_to_feed == pytest.approx(2.0 / gpu_ms)  # no fast describer: 2.0 ms of CPU


def test_durations_read_as_a_reader_wants_them():
    assert [capacity.duration(h) for h in (10 / 3600, 0.5, 5.0, 100.0)] == ["10 s", "30.0 min", "5.0 h", "4.2 days"]


def test_the_cluster_model_is_bounded_by_a_workers_thread_then_by_the_cores():
    costs = {"decode": 0.5, "front_end": 1.5, "physnet_cpu": 2.5, "describer_fast": 0.5}  # 5 ms, 3 in a worker
    # one worker: 1000 / 3 ms = 333 frames/s (2 cores could do 400): 900 frames in 2.7 s
    assert cluster.predicted_s_per_video_per_worker(900, costs, 1, 2) == pytest.approx(2.7)
    # three workers on 2 cores: 400 frames/s, 2.25 s a video, times 3 workers
    assert cluster.predicted_s_per_video_per_worker(900, costs, 3, 2) == pytest.approx(6.75)


def test_growth_slope_and_memory_ratio():
    def row(work, seconds, driver):
        peaks = growth.Peaks()
        peaks.add({"driver": [("driver", driver)], "ray workers": [], "ray system": []})
        return growth.Row("stage", "", work, "min", seconds, peaks)

    marginal, first, ratios = growth.slope([row(5, 40, 100), row(20, 100, 100), row(80, 340, 150)])
    assert (marginal, first) == pytest.approx((4.0, 8.0))  # (340 - 40) / 75; 40 / 5
    assert ratios == {"driver": pytest.approx(1.5)}
    assert math.isnan(growth.slope([row(5, 40, 100)])[0])


def test_growth_roles_and_peaks():
    assert growth.role_of(["python"], True) == "driver"
    assert growth.role_of(["ray::CueWorker.cues"], False) == "ray workers"
    assert growth.role_of(["/x/raylet", "--a"], False) == "ray system"
    peaks = growth.Peaks()
    peaks.add({"driver": [("driver", 5)], "ray workers": [("ray::A", 3), ("ray::B", 4)], "ray system": []})
    peaks.add({"driver": [("driver", 2)], "ray workers": [("ray::A", 6)], "ray system": []})
    assert peaks.total == {"driver": 5, "ray workers": 7, "ray system": 0}
    assert peaks.largest["ray workers"] == 6 and peaks.by_title == {"driver": 5, "ray::A": 6, "ray::B": 4}


def test_one_driver_caps_a_cluster():
    costs = capacity.Costs(decode=0.5, front_end=1.0, physnet_cpu=4.0, describer_fast=0.5, driver_per_clip=12.8)
    eight = capacity.throughput(costs, MODELS, GPU, HOUR, capacity.Machine("eight", 10, 2, 8), "fast")
    # one core at 12.8 ms a clip of 128 frames: 10,000 frames/s, below the 8 × 2000 of the GPUs
    assert eight.frames_per_s == pytest.approx(10_000) and eight.bottleneck == "the driver (one core)"
    laptop = capacity.throughput(costs, MODELS, GPU, HOUR, capacity.Machine("laptop", 2, 0), "fast")
    assert laptop.frames_per_s == pytest.approx(2000 / (6.5 + 0.1))  # the driver's 0.1 ms a frame shares the cores
