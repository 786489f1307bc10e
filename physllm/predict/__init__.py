"""Heart rate from a person's own, unlabelled video: `physllm predict`.

- `estimators.py` — what turns clips into a waveform: a classic method, PhysNet alone, or a
  trained PhysLLM (`make_estimator` picks one);
- `windows.py` — the read-out: whole video and sliding windows (HR, SNR, confidence, flags) and
  the vitals;
- `video.py` — `predict_video`: one video through clips → estimator → pulse → windows;
- `outputs.py` — the JSON, CSV and PNG files of a prediction;
- `command.py` — `PredictConfig` (every option: the videos, `EstimatorConfig`, `WindowConfig`) and
  `run_predict(cfg)`, over a batch of files, folders and webcams.

The terminal's tables are physllm/tables.py's `print_batch`.
"""

from physllm.predict.command import PredictConfig, run_predict
from physllm.predict.estimators import (BaselineEstimator, Estimator, EstimatorConfig, PhysLLMEstimator,
                                        PhysNetEstimator, make_estimator)
from physllm.predict.outputs import write_prediction
from physllm.predict.video import Prediction, predict_video, read_ahead
from physllm.predict.windows import WindowConfig, WindowEstimate

__all__ = ["BaselineEstimator", "Estimator", "EstimatorConfig", "PhysLLMEstimator", "PhysNetEstimator",
           "Prediction", "PredictConfig", "WindowConfig", "WindowEstimate", "make_estimator", "predict_video",
           "read_ahead", "run_predict", "write_prediction"]
