"""physllm/tables.py: the command line's tables of an evaluation report and of a prediction."""

import io
from pathlib import Path

import numpy as np
from rich.console import Console

from physllm.evaluation.report import evaluate_videos
from physllm.predict.command import BatchResult
from physllm.predict.video import Prediction
from physllm.predict.windows import WindowEstimate
from physllm.tables import print_batch, print_table, print_vitals_table, vitals_line
from physllm.vitals import Vitals
from tests.evaluation.test_report import VIDEOS, vitals_videos


def printed(print_fn, *args, width=200) -> str:
    console = Console(file=io.StringIO(), width=width)
    print_fn(*args, console=console)
    return console.file.getvalue()


def test_print_table():
    text = printed(print_table, evaluate_videos(VIDEOS))
    for expected in ("physnet", "pos", "MAE", "SNR", "±", "by light", "by skin_tone", "by dataset",
                     "bright"):
        assert expected in text


def test_print_vitals_table_counts_the_videos_read_and_refused():
    text = printed(print_vitals_table, evaluate_videos(vitals_videos()), width=160)
    assert "RMSSD (ms)" in text and "(3/3)" in text and "(0/3)" in text


def test_vitals_line_says_what_was_read_and_why_the_rest_was_not():
    read = Vitals(70.0, 42.0, 35.0, 12.0, "ok", None, "too_short", beats=30, rejected_ibis=0)
    assert vitals_line(read) == ("HRV (30 beats): SDNN 42 ms, RMSSD 35 ms, pNN50 12%; "
                                 "breathing not read (too_short)")
    assert "not reliable" in vitals_line(None)


def test_print_batch_shows_each_window_the_notes_and_the_failures(capsys):
    good = WindowEstimate(0.0, 10.0, 72.0, 71.5, 6.0, 0.9, 1.0, True, "ok")
    weak = WindowEstimate(1.0, 11.0, 90.0, float("nan"), -9.0, 0.1, 1.0, False, "low_confidence")
    pred = Prediction("clip.mp4", "pos", 30.0, 30.0, "face", good, [good, weak], pulse=np.zeros(330),
                      raw_pulse=np.zeros(330), face=np.ones(330), notes=["resampled"])
    files = {kind: Path(f"out/clip{suffix}") for kind, suffix in (
        ("json", ".json"), ("windows", "_windows.csv"), ("waveform", "_waveform.csv"), ("figure", ".png"))}
    print_batch(BatchResult([(pred, files)], [("broken.avi", "broken.avi: not a video")]))
    text = capsys.readouterr().err  # the progress console's: stderr
    for expected in ("72.0 bpm (confidence 0.90, reliable)", "0–10 s", "low_confidence", "note: resampled",
                     "1 of 2 windows flagged", "HRV and breathing: not read", "clip_windows.csv",
                     "broken.avi: not a video"):
        assert expected in text, expected
