"""Capacity plan: hours and GPU-hours to precompute each dataset's cues on a laptop, a GPU node, eight.

Arithmetic, not a measurement: it combines
- the per-stage cost of a frame in ms of one core, measured here (`--costs`, a JSON;
  bench/stage_costs.json holds today's figures and says which run they come from): decode, the face
  front end (detection, tracking, crops, skin means), PhysNet on one CPU thread, the fast describer;
- for the stages not run here, FLOPs and a GPU's rate: PhysNet's FLOPs per frame (counted with
  torch's FlopCounterMode on a 128×72×72 clip), LLaVA-1.5-7B's per keyframe from its published
  sizes (CLIP ViT-L/14-336 vision tower, 576 image tokens, a 6.74B-parameter Vicuna-7B), and an
  H100/H200's published bf16 dense rate, 989 TFLOP/s, at a stated utilisation;
- dataset sizes (`DATASETS`: frames at the clips' 30 fps, and the source's pixels relative to the
  320×240 renders the costs were measured on; decoding is taken to scale with pixels, the front end
  not, because it detects on a small copy and resizes every crop to 72×72).

Model of one machine (`throughput`): CPU stages run on the cores left after one core per GPU
worker (worker_plan.py gives each GPU worker one CPU); GPU stages on the GPUs; the one driver
process collects every part and writes every shard on one core (`driver_ms_per_clip`, measured by
bench/growth.py as the driver's CPU time per clip); the slowest of the three sets the rate and is
the bottleneck. Without GPUs everything, the driver included, runs on the cores. Eight nodes are
eight times one node's CPUs and GPUs, with the same one driver.

    python bench/capacity.py [--costs bench/stage_costs.json] [--physnet-gpu-util 0.05]
        [--llava-util 0.4] [--node-cores 112] [--node-gpus 8] [--nodes 8]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

COSTS = Path(__file__).with_name("stage_costs.json")
CLIP_FRAMES = 128  # one keyframe per clip of 128 frames (pipeline.clips: the middle frame)


@dataclass(frozen=True)
class Dataset:
    name: str
    hours: float  # of video
    pixel_ratio: float  # source pixels / 320×240
    note: str

    @property
    def frames(self) -> float:
        return self.hours * 3600 * 30.0  # clips are resampled to 30 fps (ClipConfig.fps)


# Sizes as the datasets' papers give them; where a paper gives counts and not durations the
# duration is an assumption, said so in the note.
DATASETS = (
    Dataset("UBFC-rPPG", 42 / 60, 4.0, "42 videos of ~1 min, 640×480 (Bobbia et al. 2019)"),
    Dataset("PURE", 1.0, 4.0, "10 subjects × 6 tasks of ~1 min, 640×480 PNG (Stricker et al. 2014); PNG decodes slower than MJPG: not modelled"),
    Dataset("MMPD", 11.0, 1.0, "33 subjects × 20 videos of 1 min, 320×240 (Tang et al. 2023)"),
    Dataset("VIPL-HR", 2378 * 30 / 3600, 9.0, "2,378 RGB videos (Niu et al. 2018); ~30 s each and 960×720 ASSUMED (mixed devices)"),
)


@dataclass(frozen=True)
class Costs:
    """ms of one core per frame, at 320×240 (the renders)."""

    decode: float
    front_end: float
    physnet_cpu: float
    describer_fast: float
    driver_per_clip: float = 0.0  # ms of the driver's one core per clip (collecting parts, writing shards); 0: not modelled
    startup_s: float = 15.0  # Ray and the workers loading, once per run
    source: str = ""

    @classmethod
    def load(cls, path: Path) -> "Costs":
        data = json.loads(Path(path).read_text())
        return cls(**data["ms_per_frame"], driver_per_clip=data.get("driver_ms_per_clip", 0.0),
                   startup_s=data.get("startup_s", 15.0), source=data.get("source", ""))


@dataclass(frozen=True)
class Gpu:
    name: str = "H100/H200 SXM"
    bf16_flops: float = 989e12  # dense bf16 tensor-core peak, NVIDIA's H100 SXM datasheet (H200: the same compute)
    hbm_bytes_per_s: float = 3.35e12  # H100 SXM HBM3; H200: 4.8e12


@dataclass(frozen=True)
class Models:
    physnet_flops_per_frame: float = 35.12e9 / CLIP_FRAMES  # FlopCounterMode, 2 FLOPs a multiply-add, 128×72×72 clip
    physnet_util: float = 0.05  # ASSUMED: small 3-D convolutions (16–64 channels) use little of a tensor-core GPU
    llava_llm_params: float = 6.74e9  # Vicuna-7B (LLaMA-2-7B) in LLaVA-1.5-7B
    llava_vision_params: float = 0.304e9  # CLIP ViT-L/14 at 336 px: 577 tokens
    llava_image_tokens: int = 576
    llava_text_tokens: int = 95  # our prompt (describe_llava.PROMPT) and the chat template, ~95 tokens
    llava_new_tokens: int = 200  # the paper's max_new_tokens: the budget's upper end
    llava_batch: int = 8  # keyframes per generate call (describe_llava's batch_size)
    llava_util: float = 0.4  # ASSUMED: prefill matmuls of a 7B model in bf16 (40% MFU)

    def llava_flops(self) -> tuple[float, float]:
        """(prefill FLOPs, decode FLOPs) per keyframe: 2 × params × tokens."""
        vision = 2 * self.llava_vision_params * (self.llava_image_tokens + 1)
        prefill = 2 * self.llava_llm_params * (self.llava_image_tokens + self.llava_text_tokens)
        return vision + prefill, 2 * self.llava_llm_params * self.llava_new_tokens


def llava_gpu_s_per_keyframe(m: Models, gpu: Gpu) -> float:
    """Prefill at `llava_util` of the peak; each generated token the slower of its FLOPs at that
    utilisation and reading the bf16 weights once per batch of `llava_batch` keyframes."""
    prefill, decode = m.llava_flops()
    weights_per_token = 2 * m.llava_llm_params / gpu.hbm_bytes_per_s / m.llava_batch
    decode_s = max(decode / (gpu.bf16_flops * m.llava_util), m.llava_new_tokens * weights_per_token)
    return prefill / (gpu.bf16_flops * m.llava_util) + decode_s


@dataclass(frozen=True)
class Machine:
    name: str
    cores: int
    gpus: int
    count: int = 1  # identical machines


@dataclass(frozen=True)
class Plan:
    frames_per_s: float
    cpu_frames_per_s: float
    gpu_frames_per_s: float  # inf without GPUs
    bottleneck: str
    cores_per_gpu_to_feed: float  # nan without GPUs


def stage_ms(costs: Costs, m: Models, gpu: Gpu, dataset: Dataset, describer: str) -> tuple[float, float]:
    """(ms of a core per frame of `dataset` on the CPU side of a GPU node, ms of a GPU per frame)."""
    cpu = costs.decode * dataset.pixel_ratio + costs.front_end + (costs.describer_fast if describer == "fast" else 0.0)
    gpu_ms = 1000 * m.physnet_flops_per_frame / (gpu.bf16_flops * m.physnet_util)
    if describer == "llava":
        gpu_ms += 1000 * llava_gpu_s_per_keyframe(m, gpu) / CLIP_FRAMES
    return cpu, gpu_ms


def throughput(costs: Costs, m: Models, gpu: Gpu, dataset: Dataset, machine: Machine, describer: str) -> Plan:
    """Frames per second of `machine` (× its count) on `dataset` with `describer` ("fast" or "llava")."""
    cpu_flops_per_core = m.physnet_flops_per_frame / (costs.physnet_cpu / 1000)  # PhysNet's achieved rate here
    cpu_ms, gpu_ms = stage_ms(costs, m, gpu, dataset, describer)
    if machine.gpus == 0:  # every stage on the cores; LLaVA at PhysNet's achieved FLOP rate per core
        llava_ms = 0.0
        if describer == "llava":
            llava_ms = 1000 * sum(m.llava_flops()) / cpu_flops_per_core / CLIP_FRAMES
        driver_ms = costs.driver_per_clip / CLIP_FRAMES  # the driver shares the cores
        rate = machine.count * machine.cores * 1000 / (cpu_ms + costs.physnet_cpu + llava_ms + driver_ms)
        stage = "LLaVA on the CPU" if describer == "llava" else "PhysNet on the CPU" \
            if costs.physnet_cpu > cpu_ms else "decode + front end"
        return Plan(rate, rate, math.inf, stage, math.nan)
    feeding = max(machine.cores - machine.gpus, 1)  # one core per GPU worker (worker_plan.GPU_WORKER_CPUS)
    cpu_rate = machine.count * feeding * 1000 / cpu_ms
    gpu_rate = machine.count * machine.gpus * 1000 / gpu_ms
    driver_rate = 1000 * CLIP_FRAMES / costs.driver_per_clip if costs.driver_per_clip else math.inf  # one process
    rates = {"CPU: decode + front end": cpu_rate, "GPU: LLaVA" if describer == "llava" else "GPU: PhysNet": gpu_rate,
             "the driver (one core)": driver_rate}
    bottleneck = min(rates, key=rates.get)
    return Plan(rates[bottleneck], cpu_rate, gpu_rate, bottleneck, cpu_ms / gpu_ms)


LLAVA_LOAD_S = 60.0  # LLaVA-1.5-7B's 13.5 GB of bf16 weights read and placed on each worker: ASSUMED


def hours(dataset: Dataset, plan: Plan, startup_s: float = 0.0) -> float:
    """Wall hours: the frames at the plan's rate, plus the run's fixed start-up."""
    return (dataset.frames / plan.frames_per_s + startup_s) / 3600


def duration(h: float) -> str:
    """Hours as a reader wants them: s, min, h or days."""
    s = h * 3600
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days"


MACHINES = (Machine("laptop (2 cores)", 2, 0), Machine("1 GPU node", 112, 8), Machine("8 GPU nodes", 112, 8, 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--costs", type=Path, default=COSTS, help="per-stage ms of a core per frame (JSON)")
    parser.add_argument("--physnet-gpu-util", type=float, default=Models.physnet_util)
    parser.add_argument("--llava-util", type=float, default=Models.llava_util)
    parser.add_argument("--llava-new-tokens", type=int, default=Models.llava_new_tokens)
    parser.add_argument("--llava-batch", type=int, default=Models.llava_batch, help="keyframes per generate call")
    parser.add_argument("--node-cores", type=int, default=112, help="cores of a GPU node (DGX H100: 2 × 56)")
    parser.add_argument("--node-gpus", type=int, default=8)
    parser.add_argument("--nodes", type=int, default=8)
    args = parser.parse_args()
    costs = Costs.load(args.costs)
    models = replace(Models(), physnet_util=args.physnet_gpu_util, llava_util=args.llava_util,
                     llava_new_tokens=args.llava_new_tokens, llava_batch=args.llava_batch)
    gpu = Gpu()
    machines = (MACHINES[0], Machine(f"1 GPU node ({args.node_cores} cores, {args.node_gpus} GPUs)", args.node_cores,
                                     args.node_gpus),
                Machine(f"{args.nodes} GPU nodes", args.node_cores, args.node_gpus, args.nodes))
    print(f"stage costs (ms of a core per frame at 320×240): decode {costs.decode:.2f}, front end {costs.front_end:.2f}, "
          f"PhysNet CPU {costs.physnet_cpu:.2f}, fast describer {costs.describer_fast:.3f}; from {costs.source}")
    prefill, decode = models.llava_flops()
    print(f"GPU stages from FLOPs on an {gpu.name} ({gpu.bf16_flops / 1e12:.0f} TFLOP/s bf16 dense): PhysNet "
          f"{models.physnet_flops_per_frame / 1e9:.3f} GFLOP/frame at {models.physnet_util:.0%} utilisation (assumed) = "
          f"{1e6 * models.physnet_flops_per_frame / (gpu.bf16_flops * models.physnet_util):.2f} µs/frame; LLaVA-1.5-7B "
          f"{prefill / 1e12:.1f} TFLOP prefill + {decode / 1e12:.1f} TFLOP for {models.llava_new_tokens} tokens per "
          f"keyframe at {models.llava_util:.0%} (assumed) = {1000 * llava_gpu_s_per_keyframe(models, gpu):.1f} ms per "
          f"keyframe, one keyframe per {CLIP_FRAMES} frames")
    print(f"start-up per run: {costs.startup_s:.0f} s with the fast describer (measured), {LLAVA_LOAD_S:.0f} s more "
          f"with LLaVA (assumed); the driver: {costs.driver_per_clip:.1f} ms of one core per clip (measured); "
          f"GPU-hours are the GPUs held for the wall time")
    print("\n| dataset | video | describer | machine | wall time | GPU-hours | frames/s | bottleneck | cores per GPU to keep it fed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in DATASETS:
        for describer in ("fast", "llava"):
            for machine in machines:
                plan = throughput(costs, models, gpu, dataset, machine, describer)
                h = hours(dataset, plan, costs.startup_s + (LLAVA_LOAD_S if describer == "llava" else 0.0))
                gpu_h = "—" if machine.gpus == 0 else f"{h * machine.gpus * machine.count:.2f}"
                feed = "—" if math.isnan(plan.cores_per_gpu_to_feed) else f"{plan.cores_per_gpu_to_feed:.1f}"
                print(f"| {dataset.name} | {dataset.hours:.1f} h | {describer} | {machine.name} | {duration(h)} | {gpu_h} | "
                      f"{plan.frames_per_s:,.0f} | {plan.bottleneck} | {feed} |")
    print("\n" + "\n".join(f"- {d.name}: {d.note}" for d in DATASETS))


if __name__ == "__main__":
    main()
