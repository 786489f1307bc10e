"""`physllm cache ls|info|verify` over damaged caches and bad options.

A user's mistake (a missing cache root, an unknown key, a manifest or settings file that is no
longer JSON) is exit 2 with one line naming the path or key; a damaged shard is what `verify`
exists to find: exit 1 and the shard named. Never a traceback, and the cache left as it was.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from physllm.cli import app
from physllm.shards.cache import SETTINGS_NAME
from tests.fixtures.bad_inputs import (BadFiles, TinyRun, assert_kept, assert_refused, copy_cache,
                                       flip_middle_byte, manifest_of, remove_shard, snapshot,
                                       split_video, tamper_shard)

# Each row: (a copy of the tiny cache, its cache root, bad files) →
#           (the command after `physllm cache`, the exit code, phrases the message holds).
CASES = {
    "ls: cache root missing": lambda cache, root, bad: (["ls", "--cache-root", bad.missing], 2, [bad.missing]),
    "ls: cache root is a file": lambda cache, root, bad: (
        ["ls", "--cache-root", bad.random_bytes], 2, [bad.random_bytes]),
    "ls: manifest not JSON": lambda cache, root, bad: (
        ["ls", "--cache-root", root], 2, [flip_middle_byte(manifest_of(cache)), "not a physllm manifest"]),
    "info: key unknown": lambda cache, root, bad: (["info", "deadbeef", "--cache-root", root], 2,
                                                   ["deadbeef"]),
    "info: settings not JSON": lambda cache, root, bad: (
        ["info", cache.name, "--cache-root", root], 2, [flip_middle_byte(cache / SETTINGS_NAME)]),
    "verify: key unknown": lambda cache, root, bad: (["verify", "deadbeef", "--cache-root", root], 2,
                                                     ["deadbeef"]),
    "verify: cache root missing": lambda cache, root, bad: (
        ["verify", "--cache-root", bad.missing], 2, [bad.missing]),
    "verify: manifest not JSON": lambda cache, root, bad: (
        ["verify", "--cache-root", root], 2, [flip_middle_byte(manifest_of(cache))]),
    "verify: shard tampered": lambda cache, root, bad: (
        ["verify", "--cache-root", root], 1,
        [tamper_shard(cache, split_video(cache, "train")), "does not match its recorded sha256"]),
    "verify: shard missing": lambda cache, root, bad: (
        ["verify", "--cache-root", root], 1, [remove_shard(cache, split_video(cache, "test")), "missing"]),
}


@pytest.mark.parametrize("case", CASES)
def test_cache_commands_refuse(case, tmp_path, tiny_run: TinyRun, bad_files: BadFiles):
    root = tmp_path / "caches"
    cache = copy_cache(tiny_run.cache, root)
    command, exit_code, phrases = CASES[case](cache, root, bad_files)
    before = snapshot(root)
    result = CliRunner().invoke(app, ["cache", *(str(c) for c in command)], terminal_width=400)
    assert_refused(result, exit_code, *phrases)
    assert_kept(before)
