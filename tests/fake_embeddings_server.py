"""A real OpenAI-compatible `/v1/embeddings` server on loopback, for the API-embedding tests.

Its vectors are deterministic and meaningful enough to test neighbours: each lower-cased word
adds ±1 to one of `FULL_DIMENSIONS` buckets chosen by its sha256, so texts that share words point
the same way. `dimensions` keeps the first n numbers and renormalises, as a Matryoshka model
does. Usage counts one token per word. It records every request (body and headers) and fails on
demand: a server without embeddings (404), 429/500 errors, NaN values, one vector of another
length, an empty list, an empty vector, fewer vectors than inputs, `dimensions` ignored.

    python tests/fake_embeddings_server.py   # run it by hand (prints its base URL), e.g. for the browser
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler

import numpy as np
from fake_openai_server import FakeOpenAI

FULL_DIMENSIONS = 48
WORD = re.compile(r"\w+")
FAILURES = {"404", "429", "500", "nan", "wrong_dim", "empty", "empty_vector", "missing", "ignore_dimensions"}


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def fake_vector(text: str, dimensions: int | None = None) -> np.ndarray:
    """The server's embedding of `text` (unit length, float64), for oracles in tests."""
    v = np.zeros(FULL_DIMENSIONS)
    for word in words(text):
        digest = hashlib.sha256(word.encode()).digest()
        v[digest[0] % FULL_DIMENSIONS] += 1.0 if digest[1] % 2 else -1.0
    v = v[:dimensions] if dimensions else v
    norm = np.linalg.norm(v)
    return v / norm if norm else np.eye(len(v))[0]  # no words: a fixed direction, never all zero


class FakeEmbeddings(FakeOpenAI):
    """`with FakeEmbeddings() as server:` → `server.base_url`, `server.requests`, `server.fail(...)`
    (the chat fake's lifecycle, serving `/v1/embeddings` instead)."""

    failures = FAILURES

    def make_handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)


def _handler(server: FakeEmbeddings):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            failure = server._next_failure()
            with server._lock:
                server.requests.append({"path": self.path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "failure": failure})
            if self.path.rstrip("/") != "/v1/embeddings" or failure == "404":
                self._json(404, {"error": {"message": "Not Found", "type": "invalid_request_error"}})
                return
            if failure in {"429", "500"}:
                self._json(int(failure), {"error": {"message": f"fake {failure}", "type": "server_error"}})
                return
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            dimensions = None if failure == "ignore_dimensions" else body.get("dimensions")
            vectors = [fake_vector(t, dimensions).tolist() for t in texts]
            if failure == "nan":
                vectors[0][0] = float("nan")
            elif failure == "wrong_dim":
                vectors[-1] = vectors[-1][:-1]
            elif failure == "empty":
                vectors = []
            elif failure == "empty_vector":
                vectors[0] = []
            elif failure == "missing":
                vectors = vectors[:-1]
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
            tokens = sum(len(words(t)) for t in texts)
            # NaN is not JSON; real servers that break this way send it as a bare NaN token, as Python does.
            self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

        def _json(self, status: int, payload: dict) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


if __name__ == "__main__":
    with FakeEmbeddings() as fake:
        print(fake.base_url, flush=True)
        threading.Event().wait()
