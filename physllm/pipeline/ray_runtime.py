"""Starting Ray quietly: local by default, a cluster with `--address` or `RAY_ADDRESS`."""

from __future__ import annotations

import logging
import os


def init_ray(address: str | None = None, num_cpus: int | None = None,
             object_store_memory: int | None = 512 * 1024**2) -> None:
    """Connect to `address` (or RAY_ADDRESS), else start a quiet local instance.

    A local instance caps its object store (Ray's default takes 30% of RAM; the job keeps a few
    parts of ~16 MB in flight) and turns off token auth and the workers' logs to the driver:
    physllm shows its own progress and warnings. RAY_BACKEND_LOG_LEVEL is left alone: Ray's
    core announces any level it is given with a line on the terminal. The local instance is
    asked for by name (`address="local"`): without it, `ray.init()` joins any cluster a
    `ray start` left running on the machine, and then refuses the local settings with a traceback.
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    else:
        ray.init(address="local", num_cpus=num_cpus, object_store_memory=object_store_memory,
                 log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False)
