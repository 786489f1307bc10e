"""Evaluation as the rPPG field does it (rPPG-Toolbox): per-video HR, metrics, plots; the classic
baselines it reports beside PhysLLM are in physllm/classic_methods.py."""

from physllm.evaluation.metrics import hr_metrics, mean_se
from physllm.evaluation.report import (EvaluationReport, VideoSignals, evaluate_videos, join_clips,
                                       signals_from_shards, write_report)

__all__ = ["EvaluationReport", "VideoSignals", "evaluate_videos", "hr_metrics",
           "join_clips", "mean_se", "signals_from_shards", "write_report"]
