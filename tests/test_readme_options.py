"""Every option the README and docs/*.md name exists: each `physllm <command> … --option` in their
code blocks and inline code is accepted by that command's parser, and each bare `--option` in a
section's prose by one of the commands the section's code blocks run (any command where they run
none) or by a bench script the same file names (`python bench/x.py`, its source holding
`"--option"`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from physllm import cli
from physllm.cli import build_command

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GROUPS = {(): cli.TOP, ("datasets",): cli.DATASETS, ("cache",): cli.CACHE, ("backbone",): cli.BACKBONE}
OPTION = re.compile(r"(?<![\w-])--[a-z][\w.-]*")


def accepted(command: tuple[str, ...]) -> set[str]:
    """The flags the command's parser takes (aliases and --no- forms included)."""
    *group, name = command
    cmd = build_command(name, *GROUPS[tuple(group)][name].load())
    return {flag for p in cmd.params for flag in (*p.opts, *p.secondary_opts)} | {"--help"}


def commands_in(line: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """(command, its options) of each `physllm …` in a line; `cache ls|info|verify` is three."""
    found = []
    for part in re.split(r"(?<![\w.-])physllm ", " " + line)[1:]:
        words = part.split()
        group = tuple(words[:1]) if words and (words[0],) in GROUPS else ()
        names = words[len(group)].split("|") if len(words) > len(group) else []
        options = [o.rstrip(".,;:") for o in OPTION.findall(part.split("#")[0])]
        found += [((*group, n), options) for n in names if n in GROUPS[group]]
    return found


def sections() -> list[tuple[str, list[str], list[str], list[str]]]:
    """(file: heading, lines of its code blocks, inline spans naming physllm, bare inline options)
    of each `##` section of each file."""
    out = []
    for doc, section in [(doc, section) for doc in DOCS for section in re.split(r"\n(?=## )", doc.read_text())]:
        fenced = re.findall(r"```[^\n]*\n(.*?)```", section, flags=re.S)
        prose = re.sub(r"```.*?```", "", section, flags=re.S)
        spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose)]
        bare = [o.rstrip(".,;:") for s in spans if s.startswith("--") for o in OPTION.findall(s)]
        out.append((f"{doc.relative_to(ROOT)}: {section.splitlines()[0]}", [line for block in fenced for line in block.replace("\\\n", " ").splitlines()],
                    [s for s in spans if "physllm " in s], bare))
    return out


def bench_sources(doc: str) -> str:
    """The source of every bench script the file `doc` names."""
    return "".join((ROOT / f"bench/{name}").read_text() for name in sorted(set(
        re.findall(r"python bench/(\w+\.py)", (ROOT / doc).read_text()))))


USES = sorted({(command, option) for _, fenced, inline, _ in sections() for line in fenced + inline
               for command, options in commands_in(line) for option in options})
BARE = sorted({(heading, option) for heading, _, _, bare in sections() for option in bare})


def test_the_readme_names_commands_and_options():
    assert len(USES) > 20 and (("predict",), "--baseline") in USES
    assert ("docs/USAGE.md: ## Heart rate from your own video", "--min-confidence") in BARE


@pytest.mark.parametrize("command, option", USES, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_each_option_of_a_readme_command_is_accepted_by_it(command, option):
    assert option in accepted(command), f"README or docs: `physllm {' '.join(command)} {option}` is not an option"


@pytest.mark.parametrize("heading, option", BARE)
def test_each_option_named_in_a_section_is_accepted_by_a_command_it_runs(heading, option):
    [fenced] = [fenced for h, fenced, _, _ in sections() if h == heading]
    ran = {command for line in fenced for command, _ in commands_in(line)}
    candidates = ran or {(*group, name) for group, names in GROUPS.items() for name in names}
    assert any(option in accepted(c) for c in candidates) or f'"{option}"' in bench_sources(heading.split(":")[0]), (
        f"{heading!r}: {option} is not an option of {sorted(' '.join(c) for c in candidates)}")
