from typer.testing import CliRunner

from physllm.cli import app

runner = CliRunner()


def test_cache_ls_info_verify_on_a_good_cache(tmp_path, filled_cache):
    root = str(tmp_path / "cache")
    listed = runner.invoke(app, ["cache", "ls", "--cache-root", root], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert filled_cache.key in listed.output and "physnet-ubfc" in listed.output

    info = runner.invoke(app, ["cache", "info", filled_cache.key[:6]], terminal_width=200,
                         env={"PHYSLLM_CACHE": root})
    assert info.exit_code == 0, info.output
    assert "video shorter than one clip" in info.output

    verified = runner.invoke(app, ["cache", "verify", "--cache-root", root], terminal_width=200)
    assert verified.exit_code == 0, verified.output
    assert "2 shard(s), ok" in verified.output


def test_unknown_key_exits_2_with_a_clear_message(tmp_path, filled_cache):
    result = runner.invoke(app, ["cache", "info", "deadbeef", "--cache-root",
                                 str(tmp_path / "cache")], terminal_width=200)
    assert result.exit_code == 2
    assert "no cache with key 'deadbeef'" in result.output
    assert "Traceback" not in result.output


def test_verify_exits_1_on_a_damaged_cache(tmp_path, filled_cache):
    next(filled_cache.shards_dir.glob("*.parquet")).unlink()
    result = runner.invoke(app, ["cache", "verify", filled_cache.key, "--cache-root",
                                 str(tmp_path / "cache")], terminal_width=200)
    assert result.exit_code == 1
    assert "missing" in result.output
