"""The synthetic dataset: rendered faces with a known pulse, written in UBFC-rPPG's layout.

`write_synthetic_dataset(out, SynthConfig())` renders one video per subject, under a scenario
labelled as MMPD labels its recordings (skin tone, light, motion; plus camera noise and
compression), and writes
  <out>/subject{N}/vid.avi           MJPG, as UBFC-rPPG's videos
  <out>/subject{N}/ground_truth.txt  line 1 PPG, line 2 HR (bpm), line 3 time stamps (s), per frame
  <out>/metadata.json                the generator config and each subject's labels and mean HR
physllm/data_catalog/synthetic.py reads it back through the UBFC-rPPG reader and attaches the
labels. The idea of a labelled synthetic rPPG set is SCAMPS' (McDuff et al., "SCAMPS: Synthetics
for camera measurement of physiological signals", NeurIPS Datasets and Benchmarks 2022); the
signal and face models are in ppg.py and face.py. Everything is drawn from
`np.random.default_rng([seed, subject_index, stream])`: the same seed writes the same files.
`DatasetsSynth` is `physllm datasets synth`'s options: the folder, the workers and a `SynthConfig`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from physllm.config import inline, opt
from physllm.data_catalog import ubfc_rppg
from physllm.data_catalog.synthetic import METADATA_NAME, read_metadata
from physllm.errors import DatasetError
from physllm.render.face import (EASY, JPEG_QUALITY, NOISE_SIGMA, SKIN_TONES, TONE_PULSE_GAIN, Scenario, build_face,
                                 light_curve, motion_path, render_frames)
from physllm.render.ppg import PPGTrace, draw_pulse_params, normalized_pulse, synthesize_ppg
from physllm.progress import progress_bar

DATASET = "synthetic"
# One departure from the easy scenario per hard video, cycled so that every kind appears in
# the default 8 hard videos; a cheap webcam is both noisy and heavily compressed.
HARD_CHALLENGES = ({"light": "dim"}, {"light": "flicker"}, {"light": "step"},
                   {"motion": "rotation"}, {"motion": "translation"}, {"motion": "talking"}, {"motion": "walking"},
                   {"noise": "high", "compression": "low"})
SECOND_CHALLENGE_PROBABILITY = 0.25  # some hard videos combine two difficulties, as MMPD's do


@dataclass(frozen=True)
class SynthConfig:
    num_subjects: int = 12  # every skin tone gets one easy and two hard videos
    seconds: float = 30.0  # 7 clips of 128 frames per video; 12 such videos cost ~35 s of CPU (~3 ms a frame)
    fps: float = 30.0  # UBFC-rPPG, PURE and MMPD are all recorded at 30 fps
    width: int = 320  # MMPD's full-resolution release is 320×240; faces span ~90×120 pixels
    height: int = 240
    seed: int = 0
    hr_range_bpm: tuple[float, float] = (45.0, 150.0)  # rPPG-Toolbox's post-processing band, 0.75–2.5 Hz
    # The pulse's depth a (face.py), peak to peak: 0.2–0.6% of the diffuse intensity (0.15–0.45%
    # in green), the size of real faces' camera PPG (~0.1–0.5% of the skin level; Verkruysse et al.
    # 2008, Kamshilin et al. 2015). At ~1%, this renderer's first value, no artefact reached the
    # pulse: POS and CHROM read every condition within 0.5 bpm (bench/conditions.py).
    pulse_amplitude_range: tuple[float, float] = (0.002, 0.006)
    easy_fraction: float = 1 / 3  # a third easy (still, bright, clean), the rest MMPD-like hard cases
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"num_subjects": ">= 1", "seconds": "> 0", "fps": "> 0", "width": ">= 64", "height": ">= 64",
              "easy_fraction": "[0, 1]"}


@dataclass
class DatasetsSynth:
    """`physllm datasets synth`: where to write, with how many processes, what to render."""

    out: Path = opt("Folder to write the synthetic dataset to (UBFC-rPPG layout).")
    num_workers: int = opt("Processes rendering subjects in parallel (same files either way).", default=1)
    synth: SynthConfig = inline(SynthConfig)
    RANGES = {"num_workers": ">= 1"}


SCENARIO_STREAM, RENDER_STREAM = 0, 1


def subject_rng(cfg: SynthConfig, index: int, stream: int) -> np.random.Generator:
    """Each subject draws from its own streams: its video depends on its index and scenario only."""
    return np.random.default_rng([cfg.seed, index, stream])


def plan_scenarios(cfg: SynthConfig) -> list[Scenario]:
    """Easy videos spread evenly over the subjects (the first one is easy); skin tones cycle
    within the easy and within the hard group, so each tone appears in both."""
    num_easy = int(round(cfg.easy_fraction * cfg.num_subjects))
    easy = set(np.round(np.linspace(0, cfg.num_subjects - 1, num_easy)).astype(int).tolist())
    tones = list(SKIN_TONES)
    scenarios, counts = [], {"easy": 0, "hard": 0}
    for index in range(cfg.num_subjects):
        group = "easy" if index in easy else "hard"
        rank = counts[group]
        counts[group] += 1
        labels = dict(EASY, skin_tone=tones[rank % len(tones)])
        if group == "hard":
            labels.update(hard_labels(rank, subject_rng(cfg, index, SCENARIO_STREAM)))
        scenarios.append(Scenario(**labels))
    return scenarios


def hard_labels(rank: int, rng: np.random.Generator) -> dict[str, str]:
    labels = dict(HARD_CHALLENGES[rank % len(HARD_CHALLENGES)])
    if rng.uniform() < SECOND_CHALLENGE_PROBABILITY:
        others = [challenge for challenge in HARD_CHALLENGES if not challenge.keys() & labels.keys()]
        labels.update(others[rng.integers(len(others))])
    return labels


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float, quality: int) -> int:
    """MJPG .avi through OpenCV's own MJPEG writer, the one that honours a JPEG quality."""
    writer = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                         (width, height))
                writer.set(cv2.VIDEOWRITER_PROP_QUALITY, quality)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def write_ground_truth(path: Path, trace: PPGTrace) -> None:
    """UBFC-rPPG DATASET_2's ground_truth.txt: PPG, HR and time stamps, one line each."""
    lines = [" ".join(f"{value:.7e}" for value in row) for row in (trace.ppg, trace.hr_bpm, trace.times_s)]
    path.write_text("\n".join(lines) + "\n")


def render_subject(folder: Path, cfg: SynthConfig, index: int, scenario: Scenario) -> dict[str, str | float | int]:
    """Render and write one subject's video and ground truth; return its metadata entry."""
    rng = subject_rng(cfg, index, RENDER_STREAM)
    params = draw_pulse_params(rng, cfg.hr_range_bpm)
    trace = synthesize_ppg(params, cfg.seconds, cfg.fps, rng)
    bvp = normalized_pulse(trace.ppg)
    amplitude = rng.uniform(*cfg.pulse_amplitude_range) * TONE_PULSE_GAIN[scenario.skin_tone]
    layers = build_face(rng, cfg.height, cfg.width, scenario.skin_tone, amplitude, scenario.light == "side")
    motion = motion_path(scenario.motion, trace.times_s, bvp, rng, cfg.height / 240.0)
    light = light_curve(scenario.light, trace.times_s, rng)
    frames = render_frames(layers, motion, light, bvp, NOISE_SIGMA[scenario.noise], rng)
    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / ubfc_rppg.VIDEO_NAME, frames, cfg.fps, JPEG_QUALITY[scenario.compression])
    write_ground_truth(folder / "ground_truth.txt", trace)
    return {**scenario.labels(), "mean_hr_bpm": round(float(trace.hr_bpm.mean()), 3),
            "resp_hz": round(params.resp_hz, 4), "pulse_amplitude": round(float(amplitude), 5)}


def write_synthetic_dataset(out: Path, cfg: SynthConfig, workers: int = 1) -> None:
    """Render `cfg.num_subjects` videos under `out` in UBFC-rPPG's layout, plus metadata.json.

    `workers` > 1 renders subjects in that many processes; the files are the same either way.
    metadata.json is written last: a folder without it is an interrupted run, and the reader
    (data_catalog/synthetic.py) refuses it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / METADATA_NAME).unlink(missing_ok=True)
    names = [f"subject{index + 1}" for index in range(cfg.num_subjects)]
    jobs = [(out / name, cfg, index, scenario)
            for index, (name, scenario) in enumerate(zip(names, plan_scenarios(cfg)))]
    subjects = {}
    with progress_bar("rendering synthetic videos", cfg.num_subjects) as advance, \
            (ProcessPoolExecutor(workers) if workers > 1 else nullcontext()) as pool:
        entries = pool.map(render_subject, *zip(*jobs)) if pool else itertools.starmap(render_subject, jobs)
        for name, entry in zip(names, entries):
            subjects[name] = entry
            advance()
    metadata = {"dataset": DATASET, "generator": __name__, "seed": cfg.seed,
                "config": dataclasses.asdict(cfg), "subjects": subjects}
    (out / METADATA_NAME).write_text(json.dumps(metadata, indent=2) + "\n")


def is_written_with(root: Path, cfg: SynthConfig) -> bool:
    """Whether `root` already holds a complete dataset rendered from exactly `cfg`."""
    try:
        written = read_metadata(root).get("config")
    except DatasetError:
        return False
    return written == json.loads(json.dumps(dataclasses.asdict(cfg)))
