"""The playlist data set download against a real HTTP server on loopback: one download for many
visitors at once, nothing in place after a body cut short or a wrong file, and the good file used."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from playground.embeddings import word2vec as w2v

PLAYLISTS = b"#header one\n#header two\nsong1 song2 song3 \nsong2 song3 \n"
SONGS = b"song1\tFirst Song\tBand A\nsong2\tSecond\tBand B\nsong3\tThird\tBand A\n"


class Server:
    """Serves /train.txt and /song_hash.txt; /short/* promise more bytes than they send."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.release = threading.Event()
        self.release.set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.requests[self.path] += 1
                owner.release.wait(10)  # lets a test hold the first download open
                body = {"train.txt": PLAYLISTS, "song_hash.txt": SONGS, "page.html": b"<html>login</html>"}.get(
                    self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                cut = self.path.startswith("/short/")
                self.send_header("Content-Length", str(len(body) + (1000 if cut else 0)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def source(self, prefix: str = "", songs: str = "song_hash.txt") -> w2v.PlaylistSource:
        return w2v.PlaylistSource(f"{self.url}{prefix}/train.txt", f"{self.url}{prefix}/{songs}")


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture
def online(settings, tmp_path: Path):
    return replace(settings, offline=False, cache_dir=tmp_path)


def folder(settings) -> Path:
    return settings.cache_dir / "datasets" / "yes_complete"


def test_downloads_once_for_visitors_arriving_together(server: Server, online) -> None:
    server.release.clear()  # hold the first download open until every visitor is waiting
    results, errors = [], []

    def visitor() -> None:
        try:
            results.append(w2v.download_playlists(online, server.source()))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=visitor) for _ in range(6)]
    for t in threads:
        t.start()
    threading.Timer(0.5, server.release.set).start()
    for t in threads:
        t.join(30)
    assert not errors
    assert server.requests == {"/train.txt": 1, "/song_hash.txt": 1}
    playlists, songs = results[0]
    assert playlists == [["song1", "song2", "song3"], ["song2", "song3"]]
    assert songs["song2"].title == "Second" and all(r == results[0] for r in results)
    assert sorted(p.name for p in folder(online).iterdir()) == ["song_hash.txt", "train.txt"]  # no .part left
    w2v.download_playlists(online, server.source())  # now from the cache
    assert sum(server.requests.values()) == 2


def test_a_body_cut_short_leaves_nothing_in_place(server: Server, online) -> None:
    with pytest.raises(w2v.DatasetUnavailable, match=r"cut short|IncompleteRead"):
        w2v.download_playlists(online, server.source("/short"))
    assert not folder(online).exists() or list(folder(online).iterdir()) == []
    playlists, _ = w2v.download_playlists(online, server.source())  # a later good download works
    assert len(playlists) == 2


def test_a_file_that_is_not_the_data_set_is_refused(server: Server, online) -> None:
    with pytest.raises(w2v.DatasetUnavailable, match="no 'id, title, artist' lines"):
        w2v.download_playlists(online, server.source(songs="page.html"))
    assert [p.name for p in folder(online).iterdir()] == ["train.txt"]  # the good file is kept
    with pytest.raises(w2v.DatasetUnavailable, match="HTTPError"):
        w2v.download_playlists(online, server.source(songs="missing.txt"))
    assert [p.name for p in folder(online).iterdir()] == ["train.txt"]
