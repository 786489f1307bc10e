"""Shared fixtures live in tests/fixtures/, one module per kind, so suites don't collide."""

import os

os.environ.setdefault("PHYSLLM_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

pytest_plugins = [
    "tests.fixtures.ray_cluster",
    "tests.fixtures.tiny_models",
    "tests.fixtures.synthetic_data",
    "tests.fixtures.tiny_llava",
    "tests.fixtures.bad_inputs",
    "tests.fixtures.s3_server",
]
