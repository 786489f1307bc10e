"""physllm/config.py: options from config dataclasses, files, flags, ranges, the resolved file."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from physllm.config import (check_ranges, field_comments, in_range, options_of, read_config_file, resolve,
                            write_resolved)
from physllm.errors import PhysllmError


@dataclass
class Face:
    detect_every: int = 30  # frames between detections
    RANGES = {"detect_every": ">= 1"}


@dataclass
class Clips:
    size: int = 72  # crop side in pixels
    face: Face = field(default_factory=Face)
    RANGES = {"size": "> 0"}


@dataclass
class Job:
    root: Path  # the dataset's root folder
    shards: list[Path] = field(default_factory=list)
    lr: float = 1e-4  # learning rate
    resume: bool = False
    clips: Clips = field(default_factory=Clips)
    model: dict = field(default_factory=dict)
    RANGES = {"lr": "> 0"}


@pytest.mark.parametrize("value, spec, inside", [
    (0, "> 0", False), (1e-9, "> 0", True), (1, ">= 1", True), (0, ">= 1", False),
    (0, "[0, 1]", True), (1, "[0, 1]", True), (1, "[0, 1)", False), (0, "(0, 1]", False),
    (float("nan"), ">= 0", False)])
def test_in_range(value, spec, inside):
    assert in_range(value, spec) is inside


def test_options_are_the_fields_flattened_with_their_comments_and_ranges():
    options = {o.key: o for o in options_of(Job)}
    assert list(options) == ["root", "shards", "lr", "resume", "clips.size", "clips.face.detect_every", "model"]
    assert options["clips.face.detect_every"].flag == "--clips.face.detect-every"
    assert options["clips.face.detect_every"].range == ">= 1"
    assert options["lr"].help == "learning rate" and options["lr"].default == 1e-4
    assert options["root"].required and not options["model"].on_command_line
    assert field_comments(Clips) == {"size": "crop side in pixels", "face": ""}


def test_flags_win_over_the_file_which_wins_over_the_defaults(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text("root: /data\nlr: 0.01\nclips:\n  face:\n    detect-every: 10\nmodel: {lora_r: 4}\n")
    cfg = resolve(Job, path, {"lr": 0.5, "clips.size": None, "shards": ["a", "b"]})
    assert cfg.root == Path("/data") and cfg.lr == 0.5 and cfg.shards == [Path("a"), Path("b")]
    assert cfg.clips == Clips(72, Face(10)) and cfg.model == {"lora_r": 4}


def test_the_resolved_file_reads_back_as_the_same_config(tmp_path):
    cfg = resolve(Job, None, {"root": "/data", "clips.face.detect_every": 5, "resume": True})
    written = write_resolved(cfg, tmp_path / "out", "job")
    assert written == tmp_path / "out" / "job.config.yaml"
    assert resolve(Job, written) == cfg


@pytest.mark.parametrize("file_text, flags, message", [
    ("root: /d\nlearning_rate: 1\n", {}, "unknown setting(s) ['learning_rate']"),
    ("root: /d\nclips: {face: {every: 3}}\n", {}, "['clips.face.every']"),
    ("lr: 0.1\n", {}, "missing --root"),
    ("root: /d\nlr: fast\n", {}, "lr: expected float, got 'fast'"),
    ("root: /d\n", {"lr": 0.0}, "--lr must be > 0, got 0.0"),
    ("root: /d\n", {"clips.face.detect_every": 0}, "--clips.face.detect-every must be >= 1, got 0"),
    ("- a list\n", {}, "expected a mapping"),
    ("root: [unclosed\n", {}, "not valid YAML or JSON"),
])
def test_mistakes_name_the_option(tmp_path, file_text, flags, message):
    path = tmp_path / "job.yaml"
    path.write_text(file_text)
    with pytest.raises(PhysllmError) as error:
        resolve(Job, path, flags)
    assert message in str(error.value)


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(PhysllmError, match="no such config file"):
        read_config_file(tmp_path / "none.yaml")


def test_check_ranges_walks_nested_configs():
    with pytest.raises(PhysllmError, match="--clips.size must be > 0, got -1"):
        check_ranges(Job(root=Path("."), clips=Clips(size=-1)))


def test_the_paper_preset_is_a_valid_train_config():
    from physllm.model.physllm import PhysLLMConfig
    from physllm.train.trainer import TrainConfig

    preset = Path(__file__).resolve().parents[1] / "configs" / "paper.yaml"
    cfg = resolve(TrainConfig, preset, {"shards": ["cache"]})
    assert (cfg.llm, cfg.epochs, cfg.batch_size, cfg.lr) == ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", 30, 8, 1e-4)
    model = cfg.model
    assert isinstance(model, PhysLLMConfig) and model.lora_r == 8 and model.tpg == PhysLLMConfig().tpg
    assert (model.head, model.bypass, model.va.base, model.llm_dtype) == ("flatten", False, "deepest", None)


def test_the_model_section_of_train_is_typed_and_settable_from_flags_and_files(tmp_path):
    from physllm.model.physllm import PhysLLMConfig
    from physllm.train.trainer import TrainConfig

    keys = {o.key for o in options_of(TrainConfig)}
    assert {"model.chrominance", "model.lora_r", "model.tpg.num_prototypes"} <= keys
    assert not keys & {"model.llm", "model.clip_frames", "model.feature_channels"}  # set by --llm and the shards
    cfg = resolve(TrainConfig, None, {"shards": ["c"], "model.chrominance": False, "model.tpg.num_prototypes": 4})
    assert isinstance(cfg.model, PhysLLMConfig) and not cfg.model.chrominance and cfg.model.tpg.num_prototypes == 4
    path = tmp_path / "train.yaml"
    path.write_text("shards: [c]\nmodel: {lora_r: 4, tpg: {num_heads: 2}}\n")  # a partial `model:` as before
    cfg = resolve(TrainConfig, path, {"model.chrominance": False})
    assert (cfg.model.lora_r, cfg.model.tpg.num_heads, cfg.model.chrominance) == (4, 2, False)
    assert cfg.model.tpg.num_prototypes == PhysLLMConfig().tpg.num_prototypes
