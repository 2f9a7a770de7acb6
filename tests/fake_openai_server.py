"""A real OpenAI-compatible HTTP server on loopback, for the chat tests.

It speaks `POST /v1/chat/completions` (streaming SSE and not, with `usage`) and `GET /v1/models`
well enough for the official `openai` client, records every request (body and headers) for
assertions, and fails on demand: 401, 403, 404, 429, 500, a timeout (it sleeps longer than the
client waits), a stream that dies in the middle, a stream without usage, a slow stream, a 502
whose body is not OpenAI-shaped ("leaky").

Logprobs as real servers send them (`fake_logprobs`): chat completions with `logprobs` /
`top_logprobs` (per streamed chunk and whole), the legacy `POST /v1/completions` with `logprobs`
and `echo`, and vLLM's `prompt_logprobs` (refused on a stream, as vLLM does). `server.lacks` names
what this server is missing, for the tests of servers that are: "logprobs" (sent silently without
them, as many servers do), "logprobs_400" (refused), "prompt_logprobs" and "echo" (refused, as
OpenAI refuses them).

Its "model" is deterministic so tests can assert exact figures: it remembers a name only if
the request carries it ("Hi, I'm Sam" … "What's my name?"), each word of the answer is one
token, and a prompt costs `fake_prompt_tokens(messages)` tokens.

    python tests/fake_openai_server.py [port]   # run it by hand, e.g. for the browser
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_logprobs as lp

NAME = re.compile(r"\b(?:I'm|I am|my name is)\s+([A-Z][a-z]+)", re.IGNORECASE)
FAILURES = {"401", "403", "404", "429", "500", "timeout", "die", "no_usage", "reject_stream_options", "leaky",
            "slow"}
# What a private server behind a typed base URL might answer: not OpenAI-shaped, must never reach a visitor.
LEAKY_BODY = {"detail": "internal-secret-config db_password=hunter2", "message": "internal-secret-message"}
ERRORS = {
    "401": (401, "invalid_api_key", "Incorrect API key provided: {key}. You can find your API key at …"),
    "403": (403, "model_not_available", "Project does not have access to model {model}"),
    "404": (404, "model_not_found", "The model `{model}` does not exist or you do not have access to it."),
    "429": (429, "rate_limit_exceeded", "Rate limit reached for requests"),
    "500": (500, "server_error", "The server had an error while processing your request."),
}


CONTINUATION = "and the end."  # vLLM's continue_final_message: the assistant's start, continued


def fake_prompt_tokens(messages: list[dict]) -> int:
    """What this server bills for a prompt: 4 tokens per message plus one per word."""
    return sum(4 + len(m["content"].split()) for m in messages) + 2


def fake_answer(messages: list[dict]) -> str:
    last = messages[-1]["content"]
    if "name" in last.lower() and "?" in last:
        for m in messages[:-1]:
            if m["role"] == "user" and (found := NAME.search(m["content"])):
                return f"Your name is {found.group(1)}."
        return "I don't know your name: you have not told me."
    return f"You said: {last}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # clients hanging up on purpose (timeouts)
        pass


class FakeOpenAI:
    """`with FakeOpenAI() as server:` → `server.base_url`, `server.requests`, `server.fail(...)`."""

    failures = FAILURES  # a subclass serving other endpoints names its own, with its own `make_handler`

    def __init__(self, sleep_s: float = 3.0):
        self.requests: list[dict] = []
        self.lacks: set[str] = set()  # see the module docstring
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self.sleep_s = sleep_s  # how long "timeout" sleeps
        self._httpd = _Server(("127.0.0.1", 0), self.make_handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def fail(self, mode: str, times: int = 1) -> None:
        """The next `times` requests fail this way (the client retries once: use times=2 to see the error)."""
        assert mode in self.failures, mode
        with self._lock:
            self._failures.extend([mode] * times)

    def make_handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self.requests.clear()
            self.lacks.clear()

    def _next_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(server: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with server._lock:
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            route = self.path.rstrip("/")
            if route not in {"/v1/chat/completions", "/v1/completions"}:
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            failure = server._next_failure()
            model = body.get("model", "")
            if failure in ERRORS:
                status, code, text = ERRORS[failure]
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                self._json(status, {"error": {"message": text.format(model=model, key=key), "type": code,
                                              "code": code}})
                return
            if failure == "leaky":
                self._json(502, LEAKY_BODY)
                return
            if failure == "timeout":
                time.sleep(server.sleep_s)
                self.close_connection = True
                return
            if failure == "reject_stream_options" and "stream_options" in body:
                self._json(400, {"error": {"message": "Unrecognized request argument supplied: stream_options",
                                           "type": "invalid_request_error"}})
                return
            if self._refused(body):
                return
            if route == "/v1/completions":
                self._completion(body, failure)
                return
            messages = body.get("messages", [])
            limit = body.get("max_completion_tokens") or body.get("max_tokens") or 10_000
            continuing = body.get("continue_final_message") and messages and messages[-1]["role"] == "assistant"
            words = (CONTINUATION if continuing else fake_answer(messages)).split(" ")
            finish = "length" if len(words) > limit else "stop"
            words = words[:limit]
            usage = {"prompt_tokens": fake_prompt_tokens(messages), "completion_tokens": len(words),
                     "total_tokens": fake_prompt_tokens(messages) + len(words)}
            if body.get("stream"):
                self._stream(model, words, finish, usage, body, failure)
            else:
                self._json(200, {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "finish_reason": finish,
                                 "message": {"role": "assistant", "content": " ".join(words)},
                                 "logprobs": self._chat_logprobs(body, " ".join(words))}],
                    "usage": usage, **self._prompt_logprobs(body, messages),
                })

        def _stream(self, model: str, words: list[str], finish: str, usage: dict, body: dict,
                    failure: str | None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def chunk(choices: list, usage_: dict | None = None) -> dict:
                return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": choices, "usage": usage_}

            self._event(chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]))
            entries = (self._chat_logprobs(body, " ".join(words)) or {}).get("content")
            for i, word in enumerate(words):
                if failure == "die" and i == max(1, len(words) // 2):
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)  # mid-body: no final chunk, no [DONE]
                    return
                if failure == "slow":
                    time.sleep(0.05)  # time for a test to press Stop or leave mid-answer
                text = word if i == 0 else " " + word
                choice: dict = {"index": 0, "delta": {"content": text}, "finish_reason": None}
                if entries is not None:  # this word's tokens (an emoji is two byte pieces: one chunk each)
                    mine = [{k: v for k, v in e.items() if k != "word"} for e in entries if e["word"] == i]
                    for e in mine[:-1]:
                        self._event(chunk([{"index": 0, "delta": {"content": ""}, "finish_reason": None,
                                            "logprobs": {"content": [e], "refusal": None}}]))
                    choice["logprobs"] = {"content": mine[-1:], "refusal": None}
                self._event(chunk([choice]))
            self._event(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
            wants_usage = (body.get("stream_options") or {}).get("include_usage") and failure != "no_usage"
            if wants_usage:
                self._event(chunk([], usage))
            self._write(b"data: [DONE]\n\n")
            self._write(b"")  # the terminating zero-length chunk

        def _refused(self, body: dict) -> bool:
            """Answer 400 to what this server lacks (the messages real servers send), or to vLLM's rule."""
            lacks = server.lacks
            refusals = [
                ("logprobs_400" in lacks and body.get("logprobs"), "logprobs is not supported for this model"),
                ("prompt_logprobs" in lacks and "prompt_logprobs" in body,
                 "Unrecognized request argument supplied: prompt_logprobs"),
                ("echo" in lacks and body.get("echo") and body.get("logprobs") is not None,
                 "Setting 'echo' and 'logprobs' at the same time is not supported for this model."),
                (body.get("stream") and body.get("prompt_logprobs"),
                 "`prompt_logprobs` are not available when `stream=True`."),  # vLLM's own rule
            ]
            for hit, message in refusals:
                if hit:
                    self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    return True
            return False

        def _chat_logprobs(self, body: dict, answer: str) -> dict | None:
            if not body.get("logprobs") or "logprobs" in server.lacks:
                return None
            content = []
            for w, word in enumerate(answer.split(" ")):
                for data in lp.split_tokens(word if w == 0 else " " + word):
                    content.append({**lp.chat_entry(data, len(content), body.get("top_logprobs") or 0), "word": w})
            if not body.get("stream"):
                for e in content:
                    e.pop("word")
            return {"content": content, "refusal": None}

        def _prompt_logprobs(self, body: dict, messages: list[dict]) -> dict:
            if not body.get("prompt_logprobs"):
                return {}
            tokens = lp.split_tokens(lp.render_chat(messages))
            out: dict = {"prompt_logprobs": lp.prompt_logprobs(tokens, body["prompt_logprobs"])}
            if body.get("return_token_ids"):
                out["prompt_token_ids"] = [lp.token_id(t) for t in tokens]
            return out

        def _completion(self, body: dict, failure: str | None) -> None:
            """The legacy completions API: " and so on." after any prompt, with logprobs and echo."""
            prompt = body.get("prompt") or ""
            limit = body.get("max_tokens") or 16
            answer = lp.split_tokens(" and so on, 🙂 forever.")
            finish = "length" if len(answer) > limit else "stop"
            answer = answer[:limit]
            top = body.get("logprobs")
            prompt_tokens = lp.split_tokens(prompt)
            usage = {"prompt_tokens": len(prompt_tokens), "completion_tokens": len(answer),
                     "total_tokens": len(prompt_tokens) + len(answer)}
            if "logprobs" in server.lacks:
                top = None

            def choice(text: str, logprobs: dict | None, finish_: str | None) -> dict:
                return {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish_}

            pieces: list[tuple[str, dict | None]] = []
            if body.get("echo"):
                pieces.append((prompt, None if top is None else lp.completion_logprobs(prompt_tokens, 0, 0, top, True)))
            offset = len(prompt)
            pending = b""
            for k, data in enumerate(answer):
                pending += data
                try:  # a piece of an emoji: no text until the character is whole
                    text, pending = pending.decode("utf-8"), b""
                except UnicodeDecodeError:
                    text = ""
                pieces.append((text, None if top is None else lp.completion_logprobs([data], k, offset, top)))
                offset += len(text)
            if not body.get("stream"):
                merged = None
                if top is not None:
                    merged = {key: [v for _, p in pieces for v in (p or {}).get(key, [])]
                              for key in ("tokens", "token_logprobs", "top_logprobs", "text_offset")}
                self._json(200, {"id": "cmpl-fake", "object": "text_completion", "created": 0,
                                 "model": body.get("model"), "usage": usage,
                                 "choices": [choice("".join(t for t, _ in pieces), merged, finish)]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            base = {"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": body.get("model")}
            for k, (text, logprobs) in enumerate(pieces):
                if failure == "die" and k == len(pieces) // 2:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if failure == "slow":
                    time.sleep(0.05)
                self._event({**base, "choices": [choice(text, logprobs, None)]})
            self._event({**base, "choices": [choice("", None, finish)]})
            if (body.get("stream_options") or {}).get("include_usage"):
                self._event({**base, "choices": [], "usage": usage})
            self._write(b"data: [DONE]\n\n")
            self._write(b"")

        def _event(self, payload: dict) -> None:
            self._write(f"data: {json.dumps(payload)}\n\n".encode())

        def _write(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("retry-after-ms", "10")  # the client's one retry comes at once
            self.end_headers()
            self.wfile.write(data)

    return Handler


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    fake = FakeOpenAI()
    fake._httpd.server_close()
    fake._httpd = _Server(("127.0.0.1", port), _handler(fake))
    print(f"Fake OpenAI-compatible server on {fake.base_url}", flush=True)
    fake._httpd.serve_forever()
