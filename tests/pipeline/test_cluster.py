"""`physllm precompute` on a three-node Ray cluster (ray.cluster_utils.Cluster on this machine):
the same shards as a local run, a plan that cannot be placed refused at once, a CueWorker and a
decoder killed mid-job retried. The driver runs as the CLI in a subprocess, as a user runs it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from physllm.pipeline.job import PrecomputeConfig, run_precompute
from physllm.shards.cache import load_cache
from tests.pipeline.test_job import shard_rows

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300  # the local run of these 4 videos takes ~20 s; a hang must not stall CI


@pytest.fixture(scope="module")
def local_reference(ray_local, synthetic_root, random_physnet, tmp_path_factory):
    cfg = PrecomputeConfig("synthetic", synthetic_root, cache_root=tmp_path_factory.mktemp("local"),
                           backbone=random_physnet, batch_size=1)
    return run_precompute(cfg)


def precompute_command(root: Path, backbone: Path, cache_root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "physllm.cli", "precompute", "--dataset", "synthetic", "--root", str(root),
            "--cache-root", str(cache_root), "--backbone", str(backbone), "--batch-size", "1", *extra]


def driver_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return env | {"PHYSLLM_QUIET": "1", "COLUMNS": "400"} | extra


def assert_same_shards(cache_path: Path, reference: Path) -> None:
    assert sorted(load_cache(cache_path).manifest.done()) == sorted(load_cache(reference).manifest.done())
    got, want = shard_rows(cache_path), shard_rows(reference)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-5)


def ray_processes(title: str) -> list[psutil.Process]:
    """This test's Ray worker processes whose title starts with `title` (e.g. ray::CueWorker)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if " ".join(proc.cmdline()).startswith(title):
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.slow  # a 3-node cluster and 3-6 workers loading torch: ~60 s per shape on 2 shared cores
@pytest.mark.parametrize("ray_cluster", [1, 2], indirect=True)
def test_a_three_node_cluster_writes_the_local_shards(ray_cluster, local_reference, synthetic_root,
                                                      random_physnet, tmp_path):
    """1-CPU nodes once hung (workers sized from the cluster's total CPUs fit no node); 2-CPU nodes
    stalled (workers took the decoders' CPUs). --address on one shape, RAY_ADDRESS on the other."""
    command = precompute_command(synthetic_root, random_physnet, tmp_path)
    if ray_cluster.cpus_per_node == 1:
        command, env = command + ["--address", ray_cluster.address], driver_env()
    else:
        env = driver_env(RAY_ADDRESS=ray_cluster.address)
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 videos done (12 clips), 0 failed" in run.stdout
    workers = 3 * ray_cluster.cpus_per_node  # round(0.75 × CPUs) per node
    assert f"precompute on 3 Ray nodes: {workers} CueWorker(s)" in " ".join(run.stderr.split())
    assert_same_shards(tmp_path / "synthetic" / local_reference.key, local_reference.path)


@pytest.mark.slow
@pytest.mark.parametrize("ray_cluster", [1], indirect=True)
def test_a_plan_the_cluster_cannot_place_is_refused_at_once(ray_cluster, synthetic_root, random_physnet,
                                                            tmp_path):
    command = precompute_command(synthetic_root, random_physnet, tmp_path, "--address", ray_cluster.address,
                                 "--num-gpus-per-worker", "1")
    started = time.time()
    run = subprocess.run(command, cwd=REPO, env=driver_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    message = " ".join(run.stderr.split())
    assert "error: cannot place the precompute job: 1 CueWorker(s) asking 1 GPU each" in message
    assert message.count("CPU 1, GPU 0") == 3  # the three nodes found
    assert time.time() - started < 60


@pytest.mark.slow
@pytest.mark.parametrize("ray_cluster", [2], indirect=True)
def test_a_worker_and_a_decoder_killed_mid_job_are_retried(ray_cluster, local_reference, synthetic_root,
                                                           random_physnet, tmp_path):
    """SIGKILL one CueWorker while it computes a part and one decoder while it decodes: Ray
    restarts the worker and re-runs its call, the driver sends the decoder's video round again,
    and the cache ends equal to the uninterrupted local run."""
    command = precompute_command(synthetic_root, random_physnet, tmp_path, "--address", ray_cluster.address)
    driver = subprocess.Popen(command, cwd=REPO, env=driver_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    killed, deadline = {}, time.time() + RUN_TIMEOUT_S
    try:
        while len(killed) < 2 and driver.poll() is None and time.time() < deadline:
            for title in ("ray::CueWorker.cues", "ray::decode_video"):
                busy = ray_processes(title)
                if title not in killed and busy:
                    busy[0].send_signal(signal.SIGKILL)
                    killed[title] = busy[0].pid
            time.sleep(0.02)
        stdout, stderr = driver.communicate(timeout=max(1.0, deadline - time.time()))
    finally:
        if driver.poll() is None:
            driver.kill()
    assert sorted(killed) == ["ray::CueWorker.cues", "ray::decode_video"], "the job ended before both kills"
    assert driver.returncode == 0, stdout + stderr
    assert "4 videos done (12 clips), 0 failed" in stdout
    assert "computing it again (attempt 2 of 3)" in " ".join(stderr.split())  # the decoder's video
    assert_same_shards(tmp_path / "synthetic" / local_reference.key, local_reference.path)


@pytest.mark.slow
@pytest.mark.parametrize("ray_cluster", [2], indirect=True)
def test_a_node_that_leaves_mid_job_loses_no_video(ray_cluster, local_reference, synthetic_root,
                                                   random_physnet, tmp_path):
    """A worker node removed while its CueWorkers compute: they are lost for good (pinned to
    it), the videos they held go round again on the other nodes, and the cache ends equal."""
    command = precompute_command(synthetic_root, random_physnet, tmp_path, "--address", ray_cluster.address)
    driver = subprocess.Popen(command, cwd=REPO, env=driver_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    leaving = ray_cluster.list_all_nodes()[-1]  # not the head
    leaving_pid = leaving.all_processes["raylet"][0].process.pid
    removed, deadline = False, time.time() + RUN_TIMEOUT_S
    try:
        while not removed and driver.poll() is None and time.time() < deadline:
            on_node = [p for p in ray_processes("ray::CueWorker.cues")
                       if leaving_pid in (parent.pid for parent in p.parents())]
            if on_node:
                ray_cluster.remove_node(leaving)
                removed = True
            time.sleep(0.02)
        stdout, stderr = driver.communicate(timeout=max(1.0, deadline - time.time()))
    finally:
        if driver.poll() is None:
            driver.kill()
        ray_cluster.add_node(num_cpus=2, object_store_memory=96 * 1024**2)
    assert removed, "the job ended before the node left"
    assert driver.returncode == 0, stdout + stderr
    assert "4 videos done (12 clips), 0 failed" in stdout
    assert "CueWorker was lost" in " ".join(stderr.split())
    assert_same_shards(tmp_path / "synthetic" / local_reference.key, local_reference.path)


@pytest.mark.slow
@pytest.mark.parametrize("ray_cluster", [2], indirect=True)
def test_a_driver_killed_on_the_cluster_resumes(ray_cluster, local_reference, synthetic_root, random_physnet,
                                                tmp_path):
    """SIGKILL the driver once a shard is written: Ray ends its job's workers, and the next run
    computes only the rest, equal to the uninterrupted local run."""
    command = precompute_command(synthetic_root, random_physnet, tmp_path, "--address", ray_cluster.address)
    manifest = tmp_path / "synthetic" / local_reference.key / "manifest.json"
    driver = subprocess.Popen(command, cwd=REPO, env=driver_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + RUN_TIMEOUT_S
        while time.time() < deadline and driver.poll() is None:
            if manifest.exists() and load_cache(manifest.parent).manifest.done():
                break
            time.sleep(0.05)
        done_at_kill = len(load_cache(manifest.parent).manifest.done())
    finally:
        driver.kill()
        driver.wait()
    assert 1 <= done_at_kill < 4, "the run was not interrupted between videos"
    run = subprocess.run(command, cwd=REPO, env=driver_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"computed {4 - done_at_kill} videos" in run.stdout
    assert_same_shards(manifest.parent, local_reference.path)
