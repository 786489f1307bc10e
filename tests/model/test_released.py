"""Released PhysNet checkpoints by name: fetched from a URL into the weights cache through a
`.part` file, kept only with the pinned sha256, an `error:` line without a network; the pinned
hashes match rPPG-Toolbox's files in ../shared/weights/rppg-toolbox (skipped where absent)."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from physllm.cli import app
from physllm.errors import PhysllmError
from physllm.model import released
from physllm.model.released import RELEASED, Released, backbone_path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "weights" / "rppg-toolbox"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"rPPG-Toolbox's weights not at {SHARED}")
PAYLOAD = b"not a PhysNet: a few bytes to serve and hash"


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 serving `files` (name → bytes) and counting requests."""
    files, requests = {}, []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = files.get(self.path.lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/", files, requests
    httpd.shutdown()
    httpd.server_close()


def pin(monkeypatch, tmp_path, url: str, sha256: str) -> Path:
    """A table entry `tiny` for `url`, and the weights cache in tmp_path."""
    monkeypatch.setitem(RELEASED, "tiny", Released("tiny.pth", sha256, url, "a test"))
    monkeypatch.setenv("PHYSLLM_WEIGHTS", str(tmp_path / "weights"))
    return tmp_path / "weights" / "tiny.pth"


def test_a_name_is_downloaded_once_checked_and_renamed_into_the_cache(server, monkeypatch, tmp_path):
    base, files, requests = server
    files["tiny.pth"] = PAYLOAD
    target = pin(monkeypatch, tmp_path, base + "tiny.pth", hashlib.sha256(PAYLOAD).hexdigest())
    assert backbone_path("tiny") == target and target.read_bytes() == PAYLOAD
    assert not target.with_name("tiny.pth.part").exists()
    assert backbone_path("TINY") == target and len(requests) == 1  # the second use reads the cache
    target.write_bytes(b"damaged")  # a cached file that lost its hash is fetched again
    assert backbone_path("tiny").read_bytes() == PAYLOAD and len(requests) == 2


def test_a_download_with_another_hash_is_refused_and_not_kept(server, monkeypatch, tmp_path):
    base, files, _ = server
    files["tiny.pth"] = PAYLOAD + b"!"
    target = pin(monkeypatch, tmp_path, base + "tiny.pth", hashlib.sha256(PAYLOAD).hexdigest())
    with pytest.raises(PhysllmError, match="not kept"):
        backbone_path("tiny")
    assert list(target.parent.iterdir()) == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_a_network_one_error_line_names_the_file_and_the_folder(monkeypatch, tmp_path):
    entry = RELEASED["ubfc-rppg"]
    unreachable = f"http://127.0.0.1:{closed_port()}/{entry.file}"  # nothing listens: connection refused
    monkeypatch.setitem(RELEASED, "ubfc-rppg", Released(entry.file, entry.sha256, unreachable, entry.trained_on))
    monkeypatch.setenv("PHYSLLM_WEIGHTS", str(tmp_path / "weights"))
    result = CliRunner().invoke(app, ["predict", "video.mp4", "--backbone", "ubfc-rppg", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.startswith("error: cannot download") and entry.file in text and str(tmp_path / "weights") in text
    assert list((tmp_path / "weights").iterdir()) == []  # no .part left behind


def test_a_path_is_taken_as_it_is(tmp_path):
    assert backbone_path(tmp_path / "mine.pth") == tmp_path / "mine.pth"


def test_nothing_is_fetched_on_import():
    import ast

    tree = ast.parse(Path(released.__file__).read_text())
    top_calls = [n for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert top_calls == []


@needs_shared
@pytest.mark.parametrize("name", sorted(RELEASED))
def test_the_pinned_hashes_are_the_toolbox_files(name):
    from physllm.shards.cache import file_sha256

    entry = RELEASED[name]
    assert entry.url.startswith("https://github.com/ubicomplab/rPPG-Toolbox/raw/main/final_model_release/")
    assert file_sha256(SHARED / entry.file) == entry.sha256


@needs_shared
def test_precompute_takes_a_name_from_the_cache_without_downloading(monkeypatch):
    from physllm.pipeline.job import check_backbone_file

    monkeypatch.setenv("PHYSLLM_WEIGHTS", str(SHARED))
    monkeypatch.setattr(released, "download", lambda *a: pytest.fail("downloaded a cached file"))
    assert check_backbone_file(Path("pure")) == SHARED / "PURE_PhysNet_DiffNormalized.pth"
