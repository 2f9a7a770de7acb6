"""Loopback stand-ins for the two servers the loaders may reach: the Hugging Face Hub's model API
and a PyPI simple index. Real HTTP on 127.0.0.1, so the code under test runs unpatched."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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
