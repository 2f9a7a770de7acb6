"""Loopback stand-ins for the two servers the loaders may reach: the Hugging Face Hub's model API
(metadata only, or real files from local folders) and a PyPI simple index. Real HTTP on 127.0.0.1,
so the code under test runs unpatched."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Served:
    """A ThreadingHTTPServer on a free loopback port, serving in a daemon thread until `close`."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LoopbackServer(_Served):
    """Records every request path; `answer(path)` gives (status, JSON body or None)."""

    def __init__(self, answer, hold: threading.Event | None = None):
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.paths.append(self.path)
                if hold is not None:
                    hold.wait(60)  # a slow server: the caller's wait limit is what is tested
                status, body = answer(self.path)
                data = json.dumps(body).encode() if body is not None else b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._serve(Handler)


def hub_with_tokenizers(sizes: dict[str, int]) -> LoopbackServer:
    """The Hub's `/api/models/<id>` for repos whose tokenizer.json weighs `sizes[id]` bytes; no files."""

    def answer(path: str):
        if not path.startswith("/api/models/"):
            return 404, {"error": "Entry not found"}
        repo = path.removeprefix("/api/models/").split("/revision/")[0].split("?")[0]
        if repo not in sizes:
            return 404, {"error": "Repository not found"}
        siblings = [{"rfilename": "tokenizer.json", "size": sizes[repo]},
                    {"rfilename": "tokenizer_config.json", "size": 2_000},
                    {"rfilename": "model.safetensors", "size": 40_000_000_000}]  # weights: not a tokenizer's
        return 200, {"id": repo, "sha": "0" * 40, "private": False, "tags": [], "siblings": siblings}

    return LoopbackServer(answer)


class HubServingFiles(_Served):
    """The Hub's file API for repos whose files are real files in local folders: `HEAD`/`GET
    /<repo>/resolve/<revision>/<file>` with the headers huggingface_hub reads (commit, ETag, size),
    404 with `X-Error-Code: EntryNotFound` for a file the repo lacks, `/api/models/<repo>` and its
    `/tree/` listing."""

    COMMIT = "1" * 40

    def __init__(self, repos: dict[str, Path]):
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                server.paths.append(f"{self.command} {self.path}")
                path = self.path.split("?")[0]
                for repo, folder in repos.items():
                    prefix = f"/{repo}/resolve/"
                    if path.startswith(prefix):
                        name = path.removeprefix(prefix).split("/", 1)[1]
                        file = folder / name
                        if file.is_file() and "/" not in name:
                            return self._send(200, file.read_bytes(), with_body,
                                              {"ETag": f'"{hashlib.sha256(file.read_bytes()).hexdigest()}"'})
                        return self._send(404, b"", with_body, {"X-Error-Code": "EntryNotFound"})
                    if path.startswith(f"/api/models/{repo}/tree/"):  # list_repo_tree: the folder, flat
                        tree = [{"type": "file", "path": p.name, "size": p.stat().st_size,
                                 "oid": hashlib.sha1(p.read_bytes()).hexdigest()} for p in sorted(folder.iterdir())]
                        return self._send(200, json.dumps(tree).encode(), with_body,
                                          {"Content-Type": "application/json"})
                    if path.startswith(f"/api/models/{repo}"):
                        siblings = [{"rfilename": p.name, "size": p.stat().st_size} for p in folder.iterdir()]
                        body = json.dumps({"id": repo, "sha": server.COMMIT, "private": False, "tags": [],
                                           "siblings": siblings}).encode()
                        return self._send(200, body, with_body, {"Content-Type": "application/json"})
                self._send(404, b"", with_body, {"X-Error-Code": "RepoNotFound"})

            def _send(self, status: int, body: bytes, with_body: bool, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in {"X-Repo-Commit": server.COMMIT, "Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):  # noqa: N802 - http.server's name
                self._answer(True)

            def do_HEAD(self):  # noqa: N802
                self._answer(False)

            def log_message(self, *args):
                pass

        self._serve(Handler)
