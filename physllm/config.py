"""Options from the config dataclasses: one place for each default and its valid range.

Every command's options are the fields of a config dataclass (nested dataclasses are sections:
`clips.face.detect_every` is `--clips.face.detect-every` on the command line and
`clips: {face: {detect_every: 30}}` in a file). A value comes from, lowest first: the
dataclass's default, the `--config FILE` (YAML or JSON, `-` and `_` alike in keys), the flags.
A dataclass states the valid range of a numeric field in `RANGES` (">= 1", "> 0", "[0, 1]"),
and `check_ranges` refuses a value outside it with the option's name and the range, before any
work starts. The resolved config is written beside a command's outputs (`write_resolved`) and
reads back as a `--config`.

A field's help text is `metadata["help"]`, else the comment written beside (or above) the field
in its dataclass: the place its default is explained. A field with `metadata["derived"]` is set by
the code from elsewhere (the data) and is no option, though a file written back may hold it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physllm.errors import PhysllmError

RESOLVED_SUFFIX = ".config.yaml"  # <command>.config.yaml beside a command's outputs


@dataclass(frozen=True)
class Option:
    """One field of a config, flattened: `key` is its dotted path from the top config."""

    key: str
    type: Any  # the field's type without Optional: int, float, str, bool, Path, list[str], dict, tuple
    default: Any  # dataclasses.MISSING for a required field
    help: str
    range: str | None
    argument: bool = False  # a positional argument rather than a --flag

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    @property
    def on_command_line(self) -> bool:
        """Dicts and tuples are set from a file only (e.g. `model:` overrides, `betas`)."""
        return typing.get_origin(self.type) not in (dict, tuple) and self.type not in (dict, tuple)


# ---------------------------------------------------------------- declaring a field


def arg(help_text: str, **kwargs):
    """A positional argument field of a command's options."""
    return field(metadata={"help": help_text, "argument": True}, **kwargs)


def opt(help_text: str, **kwargs):
    """A field with its help text given here (else the comment beside it is its help)."""
    return field(metadata={"help": help_text}, **kwargs)


def inline(cls, help_text: str = ""):
    """A section whose fields are the command's own flags (no section prefix)."""
    return field(default_factory=cls, metadata={"inline": True, "help": help_text})


# ---------------------------------------------------------------- reading a dataclass


def _strip_optional(tp):
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def field_comments(cls) -> dict[str, str]:
    """The comment beside each field of `cls` (or the comment lines just above it)."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    comments, above = {}, []
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# "))
            continue
        match = re.match(r"\s+(\w+)\s*:[^#]*?(?:#\s*(.*))?$", line)
        if match and not stripped.startswith(("def ", "@")):
            comments[match.group(1)] = match.group(2) or " ".join(above)
        above = []
    return comments


def _is_config(tp) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def options_of(cls, prefix: str = "") -> list[Option]:
    """Every field of `cls`, nested dataclasses flattened into dotted keys (`inline` sections
    are flattened without a prefix)."""
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    ranges = getattr(cls, "RANGES", {})
    found = []
    for f in dataclasses.fields(cls):
        tp = _strip_optional(hints[f.name])
        if f.metadata.get("derived"):  # set from elsewhere (e.g. the data): read from a file, not an option
            continue
        if _is_config(tp):
            found += options_of(tp, "" if f.metadata.get("inline") else f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        found.append(Option(prefix + f.name, tp, default, f.metadata.get("help") or comments.get(f.name, ""),
                            ranges.get(f.name), bool(f.metadata.get("argument"))))
    return found


# ---------------------------------------------------------------- building a config


def read_config_file(path: str | Path) -> dict:
    """A YAML or JSON mapping of a config's keys (`-` or `_` alike); sections nest."""
    import yaml  # JSON is YAML too, so one parser reads both

    try:
        values = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise PhysllmError(f"{path}: no such config file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise PhysllmError(f"{path}: not valid YAML or JSON ({error})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise PhysllmError(f"{path}: expected a mapping of settings, got {type(values).__name__}")
    return _normalise_keys(values)


def _normalise_keys(values: dict) -> dict:
    return {str(k).replace("-", "_"): _normalise_keys(v) if isinstance(v, dict) else v
            for k, v in values.items()}


def _nest(flat: dict) -> dict:
    """{"clips.face.detect_every": 10} → {"clips": {"face": {"detect_every": 10}}}."""
    nested: dict = {}
    for key, value in flat.items():
        *sections, name = key.split(".")
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[name] = value
    return nested


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else value
    return merged


def _coerce(tp, value, key: str):
    origin = typing.get_origin(tp)
    if value is None:
        return None
    if tp is Path:
        return Path(value)
    if origin is tuple or tp is tuple:
        return tuple(value)
    if origin is list:
        items = value if isinstance(value, (list, tuple)) else [value]
        return [Path(v) for v in items] if typing.get_args(tp) == (Path,) else list(items)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, bool, str) and not isinstance(value, tp):
        raise PhysllmError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


def build(cls, values: dict, prefix: str = ""):
    """An instance of `cls` from nested `values` over its defaults: unknown keys, missing
    required ones and wrong types are the user's mistake, named with the option."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    inline_fields = [f for f in fields.values() if f.metadata.get("inline")]
    keys_of = {f.name: {o.key for o in options_of(_strip_optional(hints[f.name]))} for f in inline_fields}
    inline_keys = set().union(*keys_of.values())
    unknown = sorted(set(values) - set(fields) - inline_keys)
    if unknown:
        known = sorted((set(fields) - {f.name for f in inline_fields}) | inline_keys)
        raise PhysllmError(f"unknown setting(s) {[prefix + k for k in unknown]}; known here: {known}")
    kwargs = {}
    for name, f in fields.items():
        tp = _strip_optional(hints[name])
        if f.metadata.get("inline"):
            kwargs[name] = build(tp, {k: v for k, v in values.items() if k in keys_of[name]}, prefix)
        elif _is_config(tp) and (isinstance(values.get(name), dict) or name not in values):
            kwargs[name] = build(tp, values.get(name, {}), f"{prefix}{name}.")
        elif name in values:
            kwargs[name] = _coerce(tp, values[name], prefix + name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            flag = "--" + (prefix + name).replace("_", "-")
            raise PhysllmError(f"missing {flag} (or `{prefix + name}:` in the --config file)")
    return cls(**kwargs)


def resolve(cls, config_file: str | Path | None = None, flags: dict | None = None):
    """Defaults < the config file < the flags given (dotted keys; None = not given); ranges checked."""
    values = read_config_file(config_file) if config_file else {}
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    cfg = build(cls, _merge(values, _nest(given)))
    check_ranges(cfg)
    return cfg


# ---------------------------------------------------------------- ranges


_RANGE = re.compile(r"^\s*(?:(?P<op>>=|>|<=|<)\s*(?P<bound>\S+)|(?P<lo_b>[\[(])\s*(?P<lo>[^,]+),\s*"
                    r"(?P<hi>[^\])]+)(?P<hi_b>[\])]))\s*$")


def in_range(value: float, spec: str) -> bool:
    """Whether `value` satisfies a range such as "> 0", ">= 1", "[0, 1]" or "(0, 1]"."""
    match = _RANGE.match(spec)
    if match is None:
        raise ValueError(f"not a range: {spec!r}")
    if isinstance(value, float) and math.isnan(value):
        return False
    if match["op"]:
        bound = float(match["bound"])
        return {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[match["op"]]
    lo, hi = float(match["lo"]), float(match["hi"])
    above = value >= lo if match["lo_b"] == "[" else value > lo
    below = value <= hi if match["hi_b"] == "]" else value < hi
    return above and below


def check_ranges(cfg, prefix: str = "") -> None:
    """Refuse the first field of `cfg` (nested configs too) outside its `RANGES` entry."""
    ranges = getattr(type(cfg), "RANGES", {})
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            check_ranges(value, prefix if f.metadata.get("inline") else f"{prefix}{f.name}.")
        elif f.name in ranges and value is not None and not in_range(value, ranges[f.name]):
            flag = "--" + (prefix + f.name).replace("_", "-")
            raise PhysllmError(f"{flag} must be {ranges[f.name].strip()}, got {value}")


# ---------------------------------------------------------------- writing


def to_plain(cfg) -> dict:
    """The config as YAML-ready values (paths as strings, tuples as lists), inline sections flat."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            plain = to_plain(value)
            out |= plain if f.metadata.get("inline") else {f.name: plain}
        else:
            out[f.name] = _plain_value(value)
    return out


def _plain_value(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    return value


def write_resolved(cfg, folder: str | Path, command: str) -> Path:
    """`<folder>/<command>.config.yaml`: every setting the command ran with; a valid --config."""
    path = Path(folder) / f"{command}{RESOLVED_SUFFIX}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(resolved_yaml(cfg))
    return path


def resolved_yaml(cfg) -> str:
    """The text of `<command>.config.yaml` (write_resolved), for a folder elsewhere."""
    import yaml

    return yaml.safe_dump(to_plain(cfg), sort_keys=False)
