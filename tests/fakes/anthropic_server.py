"""A fake Anthropic Messages API on 127.0.0.1, for driving the real `anthropic` SDK.

It speaks the wire format (JSON and server-sent events), answers evaluations
with a plausible result built from the request itself (criteria from the JSON
schema's enum, quotes from the delimited memo), and can be scripted to fail:
429 with retry-after, 529, 500, slow answers (timeouts), malformed output,
schema violations and invented quotes. Every request is recorded.

Run standalone for the benchmark: `python -m tests.fakes.anthropic_server --port 8999 --latency 2`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOUNDARY = re.compile(r"(=====MEMO-[0-9a-f]+=====)\n(.*)\n\1", re.DOTALL)
SENTENCE = re.compile(r"[^.!?\n]{25,220}[.!?]")

# Behaviours a test can queue; each request consumes one (then "ok" is the default).
BEHAVIOURS = {
    "ok",  # a valid answer
    "rate_limit",  # 429 with retry-after: 1
    "overloaded",  # 529
    "server_error",  # 500
    "slow",  # answer after `slow_seconds` (client timeout)
    "malformed",  # prose, not JSON
    "bad_schema",  # JSON that misses a criterion and has an out-of-range score
    "invented_quote",  # valid, plus a segment that is not in the memo
    "fuzzy_quotes",  # valid, with quotes whose whitespace/quotes differ from the memo
    "stream_error",  # starts streaming, then sends an overloaded error event
    "unauthorized",  # 401
}


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    behaviour: str
    at: float


@dataclass
class FakeState:
    latency: float = 0.0
    slow_seconds: float = 5.0
    retry_after: str = "1"
    chunk_delay: float = 0.0  # pause between streamed pieces, like a model writing
    batch_seconds: float = 0.5  # how long a Message Batch takes to end
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: deque[str] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    seen_systems: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else "ok"


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections when 100 workers call at once.
    request_queue_size = 512
    daemon_threads = True


class FakeAnthropic:
    """Start with `with FakeAnthropic() as fake:`; `fake.url` goes into LLM_BASE_URL."""

    def __init__(self, port: int = 0, latency: float = 0.0) -> None:
        self.state = FakeState(latency=latency)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = _Server(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAnthropic:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers
    def script(self, *behaviours: str) -> None:
        unknown = set(behaviours) - BEHAVIOURS
        assert not unknown, f"unknown behaviours {unknown}"
        with self.state.lock:
            self.state.script.clear()
            self.state.script.extend(behaviours)

    def reset(self) -> None:
        with self.state.lock:
            self.state.script.clear()
            self.state.requests.clear()

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    def requests_for(self, memo_fragment: str) -> list[Recorded]:
        """Requests whose user turns contain this text (e.g. a memo's unique tag)."""
        return [r for r in self.requests if memo_fragment in _user_text(r.body)]


class _Handler(BaseHTTPRequestHandler):
    state: FakeState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        return

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts[:3] != ["v1", "messages", "batches"] or len(parts) < 4:
            self._error(404, "not_found_error", f"no route {self.path}")
            return
        with self.state.lock:
            batch = self.state.batches.get(parts[3])
        if batch is None:
            self._error(404, "not_found_error", "no such batch")
            return
        ended = time.time() - batch["created"] >= self.state.batch_seconds
        if len(parts) == 5 and parts[4] == "results":
            if not ended:
                self._error(400, "invalid_request_error", "batch still processing")
                return
            lines = []
            for item in batch["requests"]:
                params = item["params"]
                lines.append(
                    json.dumps(
                        {
                            "custom_id": item["custom_id"],
                            "result": {"type": "succeeded", "message": self._answer(params, "ok")},
                        }
                    )
                )
            data = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("content-type", "application/binary")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._json(200, self._batch_object(parts[3], batch, ended))

    def _batch_object(self, batch_id: str, batch: dict[str, Any], ended: bool) -> dict[str, Any]:
        host = self.headers.get("host", "127.0.0.1")
        count = len(batch["requests"])
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(batch["created"]))
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else count,
                "succeeded": count if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": created,
            "expires_at": created,
            "ended_at": created if ended else None,
            "results_url": f"http://{host}/v1/messages/batches/{batch_id}/results"
            if ended
            else None,
        }

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._error(400, "invalid_request_error", "body is not JSON")
            return
        if self.path.rstrip("/") == "/v1/messages/batches":
            batch_id = f"msgbatch_{uuid.uuid4().hex[:20]}"
            with self.state.lock:
                self.state.batches[batch_id] = {
                    "requests": body["requests"],
                    "created": time.time(),
                }
                self.state.requests.append(
                    Recorded(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        "batch",
                        time.time(),
                    )
                )
            self._json(200, self._batch_object(batch_id, self.state.batches[batch_id], False))
            return
        if self.path.rstrip("/") != "/v1/messages":
            self._error(404, "not_found_error", f"no route {self.path}")
            return
        behaviour = self.state.next_behaviour()
        with self.state.lock:
            self.state.requests.append(
                Recorded(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    behaviour,
                    time.time(),
                )
            )
        if self.state.latency:
            time.sleep(self.state.latency)
        if behaviour == "rate_limit":
            self._error(
                429,
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
                {"retry-after": self.state.retry_after},
            )
            return
        if behaviour == "overloaded":
            self._error(529, "overloaded_error", "Overloaded")
            return
        if behaviour == "server_error":
            self._error(500, "api_error", "Internal server error")
            return
        if behaviour == "unauthorized":
            self._error(401, "authentication_error", "invalid x-api-key")
            return
        if behaviour == "slow":
            time.sleep(self.state.slow_seconds)
        message = self._answer(body, behaviour)
        if body.get("stream"):
            self._stream(message, behaviour)
        else:
            self._json(200, message)

    # ------------------------------------------------------------ answers

    def _answer(self, body: dict[str, Any], behaviour: str) -> dict[str, Any]:
        system_text = "".join(
            b.get("text", "") for b in body.get("system", []) if isinstance(b, dict)
        )
        cached = any(isinstance(b, dict) and b.get("cache_control") for b in body.get("system", []))
        with self.state.lock:
            hit = cached and system_text in self.state.seen_systems
            self.state.seen_systems.add(system_text)
        system_tokens = max(1, len(system_text) // 4)
        messages_text = json.dumps(body.get("messages", []))
        usage = {
            "input_tokens": max(1, len(messages_text) // 4) + (0 if cached else system_tokens),
            "output_tokens": 0,
            "cache_creation_input_tokens": system_tokens if cached and not hit else 0,
            "cache_read_input_tokens": system_tokens if hit else 0,
        }
        tool_mode = bool(body.get("tools"))
        schema = _schema(body)
        if schema is None:
            text = _chat_reply(body)
            content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        else:
            evaluation = _evaluation(body, schema, behaviour)
            if behaviour == "malformed":
                content = [
                    {"type": "text", "text": "I think this memo is quite good overall! {score: 4"}
                ]
            elif tool_mode:
                content = [
                    {
                        "type": "tool_use",
                        "id": f"toolu_{uuid.uuid4().hex[:20]}",
                        "name": body["tools"][0]["name"],
                        "input": evaluation,
                    }
                ]
            else:
                content = [{"type": "text", "text": json.dumps(evaluation, ensure_ascii=False)}]
        out_chars = sum(len(json.dumps(c)) for c in content)
        usage["output_tokens"] = max(1, out_chars // 4)
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-test"),
            "content": content,
            "stop_reason": "tool_use" if content[0]["type"] == "tool_use" else "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    # ------------------------------------------------------------ wire

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:16]}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._json(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)

    def _stream(self, message: dict[str, Any], behaviour: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

        def event(name: str, data: dict[str, Any]) -> None:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            if name == "content_block_delta" and self.state.chunk_delay:
                time.sleep(self.state.chunk_delay)

        start = {**message, "content": [], "stop_reason": None}
        start["usage"] = {**message["usage"], "output_tokens": 1}
        event("message_start", {"type": "message_start", "message": start})
        event("ping", {"type": "ping"})
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                event(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                pieces = _chunks(block["text"], 40)
                for n, piece in enumerate(pieces):
                    if behaviour == "stream_error" and n == len(pieces) // 2:
                        event(
                            "error",
                            {
                                "type": "error",
                                "error": {"type": "overloaded_error", "message": "Overloaded"},
                            },
                        )
                        return
                    event(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                    )
            else:
                event(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {**block, "input": {}},
                    },
                )
                for piece in _chunks(json.dumps(block["input"], ensure_ascii=False), 40):
                    event(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
        event("message_stop", {"type": "message_stop"})


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = (body.get("output_config") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("schema")  # type: ignore[no-any-return]
    tools = body.get("tools") or []
    if tools:
        return tools[0].get("input_schema")  # type: ignore[no-any-return]
    return None


def _user_text(body: dict[str, Any]) -> str:
    texts: list[str] = []
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [b.get("text", "") for b in content if isinstance(b, dict)]
    return "\n".join(texts)


def _evaluation(body: dict[str, Any], schema: dict[str, Any], behaviour: str) -> dict[str, Any]:
    criteria = schema["properties"]["rubric_scores"]["items"]["properties"]["criterion"]["enum"]
    found = BOUNDARY.search(_user_text(body))
    memo = found.group(2) if found else ""
    quotes = [m.group(0).strip() for m in SENTENCE.finditer(memo)][:5]
    base = 3 + (len(memo) % 2)
    scores = [
        {
            "criterion": name,
            "score": max(1, min(5, base + (i % 3) - 1)),
            "justification": f"Assessment of {name.lower()} for this memo.",
        }
        for i, name in enumerate(criteria)
    ]
    segments = [
        {
            "segment": q,
            "comment": "Consider how a busy executive reads this passage.",
            "questions": ["What decision should the reader make after this sentence?"],
        }
        for q in quotes
    ]
    if behaviour == "fuzzy_quotes":
        for seg in segments:
            seg["segment"] = " ".join(seg["segment"].split()).replace("'", "’")
    if behaviour == "invented_quote":
        segments.append(
            {
                "segment": "This sentence does not appear anywhere in the memo at all.",
                "comment": "Invented.",
                "questions": ["Why?"],
            }
        )
    result: dict[str, Any] = {
        "language": "es" if " de " in memo and " la " in memo else "en",
        "strengths": ["States a clear purpose.", "Uses concrete figures."],
        "opportunities": ["Lead with the ask.", "Quantify the risks."],
        "rubric_scores": scores,
        "segment_feedback": segments,
    }
    if behaviour == "bad_schema":
        result["rubric_scores"] = scores[1:]
        if result["rubric_scores"]:
            result["rubric_scores"][0]["score"] = 9
    return result


def _chat_reply(body: dict[str, Any]) -> str:
    last = _user_text(body).strip().splitlines()[-1:] or [""]
    return (
        "Here is my coaching advice. Start with your recommendation, then support it with "
        "your strongest figures. Put the decision you need and its deadline in the first "
        "paragraph, quantify the problem against a baseline, and give each risk a concrete "
        f"mitigation with an owner. You asked: {last[0][:120]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeAnthropic(args.port, args.latency)
    print(f"fake Anthropic API on {fake.url} (latency {args.latency}s)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        fake.server.serve_forever()


if __name__ == "__main__":
    main()
