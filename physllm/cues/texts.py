"""The cue texts PhysLLM reads (paper Sec. 3.5; Time-LLM's prompt): "task" = the dataset's
description and the task prompt, "vision" = the describer's text of the clip's keyframe,
"stats" = the statistics sentence of its waveform (cues/stats.py). Training builds them from the
shards' columns and `physllm predict` from a new video's cue rows, both through `cue_texts`."""

from __future__ import annotations

# Time-LLM's prompt has a "Task description"; PhysLLM's task prompt states the rPPG task.
TASK_DESCRIPTION = ("Task description: reconstruct the clean blood volume pulse (rPPG) waveform "
                    "of this clip from its noisy waveform, its visual features and the "
                    "scene; the heart rate is its dominant frequency.")


def cue_texts(dataset_description: str, description: str, stats_text: str) -> dict[str, str]:
    """A clip's three cue texts, as training saw them (`physllm predict` builds them here too)."""
    return {"task": f"Dataset description: {dataset_description} {TASK_DESCRIPTION}",
            "vision": description, "stats": stats_text}
