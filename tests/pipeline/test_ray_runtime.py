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


def test_a_local_start_does_not_join_a_cluster_left_running_on_the_machine():
    """A `ray start`-style head already running here (a user's, or another job's): physllm's local
    instance is its own, with its own settings, not a traceback about joining that one."""
    script = ("from ray.cluster_utils import Cluster; import ray; "
              "other = Cluster(initialize_head=True, head_node_args={'num_cpus': 1}); "
              "from physllm.pipeline.ray_runtime import init_ray; init_ray(num_cpus=1); "
              "assert ray.get_runtime_context().gcs_address != other.address; "
              "ray.shutdown(); other.shutdown()")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
