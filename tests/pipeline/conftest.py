"""The synthetic dataset precomputed once from its local folder, the reference the object-storage
tests (a cache on S3, a root on S3) compare their shards with."""

import pytest

from physllm.pipeline.job import PrecomputeConfig, run_precompute


@pytest.fixture(scope="session")
def local_precompute(ray_local, synthetic_root, random_physnet, tmp_path_factory):
    """(config, summary) of the synthetic dataset precomputed to a local cache, 4 clips a part."""
    cfg = PrecomputeConfig("synthetic", synthetic_root, cache_root=tmp_path_factory.mktemp("local-cache"),
                           backbone=random_physnet, batch_size=4)
    return cfg, run_precompute(cfg)
