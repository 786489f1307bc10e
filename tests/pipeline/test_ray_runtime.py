"""Starting Ray (pipeline/ray_runtime.py): the terminal is physllm's, not Ray's."""

import re
import subprocess
import sys

RAY_CORE_LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [^\]]*\] \w+\.cc:\d+", re.MULTILINE)  # C++ core


def test_a_local_start_prints_no_ray_core_log_lines():
    script = ("from physllm.pipeline.ray_runtime import init_ray; import ray; "
              "init_ray(num_cpus=1); ray.shutdown()")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert not RAY_CORE_LOG_LINE.search(run.stdout + run.stderr), run.stdout + run.stderr
