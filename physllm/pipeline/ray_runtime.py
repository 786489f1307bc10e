"""Starting Ray quietly: local by default, a cluster with `--address` or `RAY_ADDRESS`."""

from __future__ import annotations

import logging
import os


def init_ray(address: str | None = None, num_cpus: int | None = None,
             object_store_memory: int | None = 512 * 1024**2) -> None:
    """Connect to `address` (or RAY_ADDRESS), else start a quiet local instance.

    A local instance caps its object store (Ray's default takes 30% of RAM) and turns off
    token auth, logs to the driver and Ray Data's own progress bars: physllm shows its own.
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")  # else a warning that they are off
    import ray
    from ray.data import DataContext

    if ray.is_initialized():
        return
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # "execution finished in …" per dataset
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    else:
        ray.init(num_cpus=num_cpus, object_store_memory=object_store_memory,
                 log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
