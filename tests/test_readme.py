"""The README's Python API example runs as written: its shell line, then its Python block."""

import json
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from physllm.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def section_blocks(title: str) -> dict[str, list[str]]:
    """The fenced code blocks of one `## title` section of the README, by language."""
    text = README.read_text()
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL):
        blocks.setdefault(language, []).append(body)
    return blocks


def test_the_python_api_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = section_blocks("Python API")
    for line in blocks["bash"][0].strip().splitlines():
        program, *args = shlex.split(line)
        assert program == "physllm"
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    namespace: dict = {}
    exec(compile(blocks["python"][0], "README.md (Python API)", "exec"), namespace)

    truth = json.loads(Path("data/synthetic/metadata.json").read_text())["subjects"]["subject1"]["mean_hr_bpm"]
    result, same = namespace["result"], namespace["same"]
    assert abs(result.hr_bpm - truth) < 4  # one FFT bin of a 12.8-s periodogram is 3.5 bpm
    assert same.hr_bpm == result.hr_bpm and [w.hr_bpm for w in same.windows] == [w.hr_bpm for w in result.windows]
    written = json.loads(Path("runs/notebook/subject1.json").read_text())
    assert written["hr_bpm"] == same.hr_bpm and written["source"] == "frames"
