"""Reading a blob's bytes stays bounded however GitHub sends them: with a length, without one
(chunked), or compressed (where the length is not the blob's). A small WSGI server plays
GitHub for the answers fakehub does not give."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from github import Auth, Github, UnknownObjectException
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.analysis import BlobTooLarge
from bot.github.client import RAW_BLOB, GitHubApp
from bot.settings import Settings
from tests.fakehub.hub import _app_key

BIG = b"x" * (16 * 1024 * 1024)
SMALL = b"X = 1\n"


class Served:
    def __init__(self) -> None:
        self.sent = 0
        self.accept: list[str] = []

    def pieces(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 16 * 1024):
            self.sent += 16 * 1024
            yield data[start : start + 16 * 1024]


@pytest.fixture
def github() -> Iterator[tuple[str, Served]]:
    served = Served()

    @Request.application
    def app(request: Request) -> Response:
        served.accept.append(request.headers.get("Accept", ""))
        name = request.path.rsplit("/", 1)[-1]
        if name == "small":
            return Response(SMALL, mimetype="application/vnd.github.raw")
        if name == "chunked":  # no Content-Length: werkzeug sends it chunked
            return Response(served.pieces(BIG), mimetype="application/vnd.github.raw")
        if name == "compressed":  # a short compressed body that unpacks to 16 MiB
            body = gzip.compress(BIG)
            return Response(body, headers={"Content-Encoding": "gzip", "Content-Length": str(len(body))},
                            mimetype="application/vnd.github.raw")
        return Response('{"message": "Not Found"}', status=404, mimetype="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", served
    finally:
        server.shutdown()
        thread.join(5)


def _read(url: str, sha: str, limit: int = 1024 * 1024) -> Any:
    settings = Settings(app_id=1, private_key=_app_key()[0], github_api_url=url, github_retries=0)
    repo = Github(base_url=url, auth=Auth.Token("ghs_test"), lazy=True).get_repo("octo/demo")
    return GitHubApp(settings).read_blob(repo, sha, limit)


def test_a_small_blob_is_read_in_the_raw_media_type(github: tuple[str, Served]) -> None:
    url, served = github
    assert _read(url, "small") == SMALL
    assert served.accept == [RAW_BLOB]


def test_a_blob_without_a_length_is_cut_off_past_the_limit(github: tuple[str, Served]) -> None:
    url, served = github
    with pytest.raises(BlobTooLarge) as caught:
        _read(url, "chunked", limit=64 * 1024)
    assert caught.value.size is None
    assert served.sent < len(BIG)


def test_a_compressed_blob_is_measured_unpacked(github: tuple[str, Served]) -> None:
    url, _ = github
    with pytest.raises(BlobTooLarge) as caught:
        _read(url, "compressed", limit=64 * 1024)
    assert caught.value.size is None


def test_a_missing_blob_raises_as_pygithub_does(github: tuple[str, Served]) -> None:
    url, _ = github
    with pytest.raises(UnknownObjectException):
        _read(url, "gone")
