"""A fake OpenAI-compatible chat-completions server (like vLLM, Ollama, llama.cpp).

`schema_support=True` honours `response_format: json_schema`; with False it
rejects that parameter with a 400 (as servers without structured output do)
and answers JSON inside prose and a code fence, to exercise tolerant parsing.
Scriptable like the Anthropic fake: "ok", "rate_limit", "server_error",
"malformed", "bad_schema".
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.anthropic_server import _evaluation


@dataclass
class OpenAIState:
    schema_support: bool = True
    script: deque[str] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class FakeOpenAI:
    def __init__(self, schema_support: bool = True) -> None:
        self.state = OpenAIState(schema_support=schema_support)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, *behaviours: str) -> None:
        with self.state.lock:
            self.state.script.clear()
            self.state.script.extend(behaviours)

    def requests_for(self, fragment: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                r
                for r in self.state.requests
                if any(fragment in str(m.get("content", "")) for m in r["messages"])
            ]


class _Handler(BaseHTTPRequestHandler):
    state: OpenAIState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        wants_schema = (body.get("response_format") or {}).get("type") == "json_schema"
        if wants_schema and not self.state.schema_support:
            # Rejected before it counts as a model call.
            self._json(
                400,
                {
                    "error": {
                        "message": "response_format json_schema is not supported",
                        "type": "invalid_request_error",
                    }
                },
            )
            return
        with self.state.lock:
            behaviour = self.state.script.popleft() if self.state.script else "ok"
            self.state.requests.append({**body, "_behaviour": behaviour})
        if behaviour == "rate_limit":
            self._json(429, {"error": {"message": "slow down"}}, {"retry-after": "1"})
            return
        if behaviour == "server_error":
            self._json(500, {"error": {"message": "boom"}})
            return
        content = self._content(body, behaviour, wants_schema)
        prompt_tokens = len(json.dumps(body["messages"])) // 4
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": max(1, len(content) // 4),
            "total_tokens": prompt_tokens + len(content) // 4,
        }
        if body.get("stream"):
            self._stream(body, content, usage)
        else:
            self._json(
                200,
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "local-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )

    def _content(self, body: dict[str, Any], behaviour: str, wants_schema: bool) -> str:
        system = body["messages"][0]["content"]
        if "JSON schema" not in system:  # chat
            return "Coaching from the local model: lead with your ask."
        schema = json.loads(system.split("JSON schema:\n", 1)[1])
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        evaluation = _evaluation(
            {"messages": [{"role": "user", "content": user}]},
            schema,
            "bad_schema" if behaviour == "bad_schema" else "ok",
        )
        if behaviour == "malformed":
            return "Sure! The memo is good. {score: 4"
        text = json.dumps(evaluation, ensure_ascii=False)
        return text if wants_schema else f"Here is the evaluation:\n```json\n{text}\n```\nDone."

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, body: dict[str, Any], content: str, usage: dict[str, int]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "local-model"),
        }
        pieces = [content[i : i + 30] for i in range(0, len(content), 30)]
        for n, piece in enumerate(pieces):
            delta = {"content": piece, **({"role": "assistant"} if n == 0 else {})}
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        final = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
        if (body.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(
                f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode()
            )
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
