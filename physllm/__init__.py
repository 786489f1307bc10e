"""physllm: pulse and heart rate from facial video, after PhysLLM (Xie et al., ICLR 2026).

The Python API (physllm/api.py): `physllm.load(checkpoint)` or `physllm.baseline("pos")`, then
`.predict(video_or_frames, fps=None)` → the result `physllm predict` writes; `physllm.save(result, folder)`.
"""

__version__ = "0.1.0"

from physllm.api import Predictor, baseline, load, save  # noqa: E402  (light: models load on call)

__all__ = ["Predictor", "baseline", "load", "save", "__version__"]
