"""What turns a video's clips into its waveform for `physllm predict`: a classic method on the
skin's mean RGB (`BaselineEstimator`: GREEN, CHROM, POS, physllm/classic_methods.py), the frozen
PhysNet alone (`PhysNetEstimator`), or a trained PhysLLM fed the same cues as its training shards
(`PhysLLMEstimator`: frozen PhysNet + describer + stats cues through physllm/cues/, then the
per-video fallback of cues/quality.py); `make_estimator` picks one from the command's options.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Protocol

import numpy as np

from physllm.classic_methods import BASELINES
from physllm.config import opt
from physllm.errors import PhysllmError
from physllm.pipeline.clips import Clip, ClipConfig


@dataclass(frozen=True)
class EstimatorConfig:
    """Which method reads the video (`make_estimator`): `physllm predict`'s and `physllm.load`'s."""

    checkpoint: Optional[Path] = opt("A trained PhysLLM checkpoint folder (`physllm train`).", default=None)
    baseline: Optional[str] = opt("A classic method instead of a checkpoint: pos, chrom or green. With no "
                                  "--checkpoint, --baseline or --backbone: pos (the best without training).",
                                  default=None)
    backbone: Optional[str] = opt("PhysNet checkpoint, a .pth or a released rPPG-Toolbox name (ubfc-rppg, pure, "
                                  "scamps, bp4d, ma-ubfc; fetched on first use into $PHYSLLM_WEIGHTS or "
                                  "~/.cache/physllm/weights): with --checkpoint, if not where training "
                                  "recorded it; alone, the frozen PhysNet reads the video.", default=None)
    roi: Optional[str] = opt("Region of interest: auto, face, skin or none (the whole frame is skin); "
                             "default: the checkpoint's, else auto.", default=None)
    device: str = opt("auto, cpu or cuda.", default="auto")


class Estimator(Protocol):
    """Turns clips into a per-frame signal, then the joined signal into the video's waveform."""

    name: str
    is_diff: bool  # output is DiffNormalized (PhysNet / PhysLLM) and needs integrating
    clip_config: ClipConfig  # face crop and clip length: a checkpoint's must match its training
    note: str | None  # a line about how it read the last video (the method chosen for the user, a fallback)

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]: ...

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray: ...


class BaselineEstimator:
    """A classic method (GREEN, CHROM, POS) on the mean RGB of the skin in each frame."""

    is_diff = False
    note = None

    def __init__(self, name: str, clip_config: ClipConfig = ClipConfig()):
        if name not in BASELINES:
            raise PhysllmError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
        self.name = name
        self.clip_config = clip_config

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        return [clip.rgb_mean for clip in clips]  # (T, 3) each

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        return BASELINES[self.name](faceless_frames_filled(joined, face), fps)


def faceless_frames_filled(rgb: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(N, 3) mean skin colours with the frames whose clip found no face given the others' mean:
    those hold whatever the stale box shows (often black), which would carry no pulse and a
    division by a zero mean into the chrominance methods."""
    rgb = rgb.astype(np.float64)
    if np.any(face > 0):
        rgb[face == 0] = rgb[face > 0].mean(axis=0)
    return rgb


class PhysNetEstimator:
    """A frozen PhysNet alone (e.g. one of rPPG-Toolbox's released checkpoints) on the 1.5x face
    crops: the backbone PhysLLM corrects, to compare against on the same video."""

    name = "physnet"
    is_diff = True
    note = None

    def __init__(self, backbone: Path, device: str = "auto", clip_config: ClipConfig = ClipConfig()):
        from physllm.pipeline.backbone import BackboneRunner

        self.runner = BackboneRunner(backbone, device=device)
        self.clip_config = clip_config

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        return list(self.runner.run(np.stack([c.frames for c in clips])).wave)

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        return joined


FALLBACK_NAMES = {"physnet": "the frozen PhysNet's wave", "chroma": "the chrominance (POS) wave"}


def fallback_note(kept: str, tolerance: float | None) -> str | None:
    """What `physllm predict` says of the per-video fallback's choice (cues.quality.video_gate)."""
    from physllm.cues.quality import INPUTS_LIT  # torch: imported only where a PhysLLM reads

    if kept == INPUTS_LIT:
        return ("both inputs read one heart rate, the light's (the background changes with it): PhysLLM's "
                "reading stands with no input to check it against")
    if kept in FALLBACK_NAMES:
        return (f"the fallback read this video with {FALLBACK_NAMES[kept]}: PhysLLM's heart rate lay more than "
                f"{tolerance:g} bpm from that of the input it trusts (the chrominance wave where "
                f"PhysNet's rate is the light's and CHROM does not read it, else the one with the higher SNR)")
    return None


class PhysLLMEstimator:
    """A trained PhysLLM fed by the same frozen backbone, describer and stats cues that built
    its training shards: their settings travel in the checkpoint's training record."""

    name = "physllm"
    is_diff = True
    note = None

    def __init__(self, checkpoint: Path, backbone: Path | None = None, device: str = "auto"):
        from physllm.device import resolve_device
        from physllm.model.checkpoint import load_trainable
        from physllm.pipeline.backbone import BackboneRunner
        from physllm.pipeline.describers import make_describer
        from physllm.train.inference import read_training_info

        cache = training_cache(read_training_info(Path(checkpoint)), checkpoint)
        self.device = resolve_device(device)
        self.model = load_trainable(checkpoint, device=self.device)
        self.model.llm.merge_adapter()  # LoRA folded into the frozen weights: one matmul a layer, not three
        self.runner = BackboneRunner(find_backbone(cache, backbone), device=str(self.device))
        describer = cache["settings"]["describer"]
        self.describer = make_describer(describer["name"], describer.get("model"))
        self.dataset_description = cache["dataset_description"]
        self.clip_config = clip_config_of(cache["settings"])

    def clip_signals(self, clips: list[Clip], fps: float) -> list[np.ndarray]:
        """Per clip (T, 8): PhysLLM's wave, the backbone's, the skin's and the background's mean RGB
        (for the gate)."""
        import torch

        from physllm.cues.chrominance import chrominance_wave
        from physllm.cues.rows import cue_rows
        from physllm.shards.schema import feature_column
        from physllm.cues.texts import cue_texts

        rows = cue_rows(clips, self.runner, self.describer, fps)
        for row in rows:  # the chrominance wave as training streams it from the shards' rgb_mean
            row["chroma"] = chrominance_wave(row["rgb_mean"], fps)
        texts = [cue_texts(self.dataset_description, r["description"], r["stats_text"]) for r in rows]
        cues = {cue: [t[cue] for t in texts] for cue in texts[0]}
        stack = lambda key: torch.from_numpy(np.stack([r[key] for r in rows])).to(self.device)  # noqa: E731
        scales = range(len(self.model.cfg.feature_strides))
        with torch.inference_mode():
            wave = self.model(stack("backbone_wave"),  # (B, T)
                              [stack(feature_column(s + 1)) for s in scales],  # 4 × (B, 64, T_s)
                              self.model.tokenize_cues(cues),
                              stack("chroma"))  # (B, T)
        return [np.column_stack([out, row["backbone_wave"], row["rgb_mean"], row["background_mean"]])
                for out, row in zip(wave.float().cpu().numpy(), rows)]

    def video_wave(self, joined: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
        """PhysLLM's joined wave through the per-video fallback of its checkpoint (cues.quality)."""
        from physllm.cues.quality import gate_inputs, video_gate

        wave, backbone, skin, background = joined[:, 0], joined[:, 1], joined[:, 2:5], joined[:, 5:8]
        tolerance = self.model.cfg.gate_tolerance_bpm
        if tolerance is None:  # a checkpoint without the fallback: nothing to read of the inputs
            self.note = None
            return wave
        inputs = gate_inputs(backbone, faceless_frames_filled(skin, face), background, fps)
        wave, kept = video_gate(wave, inputs, fps, tolerance, self.model.cfg.gate_margin_db)
        self.note = fallback_note(kept, tolerance)
        return wave


def training_cache(info: dict, checkpoint: Path) -> dict:
    """The cue settings a checkpoint was trained with (one backbone and describer for all caches)."""
    caches = info.get("caches") or []
    if not caches or "settings" not in caches[0]:
        raise PhysllmError(f"{checkpoint}: its training record holds no cue settings (expected a "
                           "checkpoint written by `physllm train`)")
    backbones = {c["settings"]["backbone"]["sha256"] for c in caches}
    if len(backbones) > 1:
        raise PhysllmError(f"{checkpoint}: trained on caches built with {len(backbones)} different "
                           "backbones; a new video's cues would not match them")
    return caches[0]


def find_backbone(cache: dict, override: Path | None) -> Path:
    """The PhysNet file whose sha256 the training cues were made with."""
    from physllm.shards.cache import file_sha256

    expected = cache["settings"]["backbone"]
    candidates = [override] if override else [
        Path(p) for p in (cache.get("backbone_path"),
                          Path(cache["path"]).parent.parent / "backbones" / expected["name"]) if p]
    for path in candidates:
        if path.is_file() and file_sha256(path) == expected["sha256"]:
            return path
    if override and override.is_file():
        raise PhysllmError(f"{override}: not the backbone this checkpoint was trained with "
                           f"(expected sha256 {expected['sha256'][:12]}…, the cues of {expected['name']})")
    looked = ", ".join(str(p) for p in candidates)
    raise PhysllmError(f"the backbone this checkpoint was trained with ({expected['name']}, sha256 "
                       f"{expected['sha256'][:12]}…) is not at {looked}; pass it with --backbone")


def clip_config_of(settings: dict) -> ClipConfig:
    """The clip settings a cache was made with. Caches from before the front end resampled and
    tracked (no `fps`, `roi`, `detector`) were read at the source rate with the Haar cascade;
    those from before it held the face still in its crop (no `stabilise`), without."""
    from physllm.pipeline.face import FaceConfig

    pre = settings["preprocessing"]
    face = {"detector": "haar"} | pre["face"]
    return ClipConfig(clip_frames=pre["clip_frames"], size=pre["size"], fps=pre.get("fps"),
                      roi=pre.get("roi", "face"), face=FaceConfig(**face), stabilise=pre.get("stabilise", False))


# The method `predict` reads with when none is named: the one our measurements rank best without
# training. On the two real webcam clips POS read 1.57 bpm MAE, the released UBFC-rPPG PhysNet
# alone 6.08 (docs/BENCHMARKS.md, "Reading video we never rendered"); CHROM is close on renders, POS on real clips.
DEFAULT_BASELINE = "pos"
DEFAULT_NOTE = ("no --checkpoint, --baseline or --backbone given: read with POS, the best method here "
                "without training (real webcam clips: 1.6 bpm MAE, the released PhysNet 6.1; docs/BENCHMARKS.md)")


def make_estimator(cfg: EstimatorConfig = EstimatorConfig()) -> Estimator:
    """A trained PhysLLM, a classic method, (a backbone alone) the frozen PhysNet, or (nothing
    named) POS with a note saying why; `backbone` is a .pth or a released name
    (model/released.py); `roi` overrides the region of interest (pipeline.roi)."""
    from physllm.model.released import backbone_path

    checkpoint, baseline = cfg.checkpoint, cfg.baseline
    backbone = backbone_path(cfg.backbone) if cfg.backbone is not None else None
    if checkpoint is None and baseline is None and backbone is None:
        estimator = BaselineEstimator(DEFAULT_BASELINE)
        estimator.note = DEFAULT_NOTE
    elif checkpoint is None and baseline is None:
        estimator = PhysNetEstimator(backbone, cfg.device)
    elif checkpoint is not None and baseline is not None:
        raise PhysllmError("give one of --checkpoint (a trained PhysLLM), --baseline pos|chrom|green, "
                           "or --backbone alone (the frozen PhysNet), not both --checkpoint and --baseline")
    else:
        estimator = (BaselineEstimator(baseline.lower()) if baseline is not None
                     else PhysLLMEstimator(Path(checkpoint), backbone, cfg.device))
    if cfg.roi is not None:
        estimator.clip_config = replace(estimator.clip_config, roi=cfg.roi)
    return estimator
