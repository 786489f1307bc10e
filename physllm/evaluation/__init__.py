"""Evaluation as the rPPG field does it (rPPG-Toolbox): per-video HR, metrics, baselines, plots."""

from physllm.evaluation.baselines import BASELINES
from physllm.evaluation.metrics import hr_metrics, mean_se
from physllm.evaluation.report import (EvaluationReport, VideoSignals, evaluate_videos,
                                       join_clips, print_table, signals_from_shards,
                                       write_report)

__all__ = ["BASELINES", "EvaluationReport", "VideoSignals", "evaluate_videos", "hr_metrics",
           "join_clips", "mean_se", "print_table", "signals_from_shards", "write_report"]
