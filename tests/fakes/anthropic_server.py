"""A fake Anthropic Messages API on 127.0.0.1, for driving the real `anthropic` SDK.

It speaks the wire format (JSON and server-sent events), answers evaluations
with a plausible result built from the request itself (criteria from the JSON
schema's enum, quotes from the delimited memo), and can be scripted to fail:
429 with retry-after, 529, 500, slow answers (timeouts), malformed output,
schema violations, invented quotes, `x-should-retry` verdicts and a model that
refuses JSON-schema output. Every request is recorded.

It checks what the real API checks and answers 400 the same way: a `strict`
tool or an `output_config.format` schema must keep to the structured-output
subset (every object `additionalProperties: false`, no numeric or length
bounds), `cache_control` must be `{"type": "ephemeral"[, "ttl": "5m"|"1h"]}` on
at most 4 blocks. Prompt caching is simulated as the API documents it: the
prefix (tools, system, messages, in that order) up to each `cache_control`
block is written; a later request reads the longest written prefix found at a
block boundary up to 20 blocks before one of its own breakpoints, and
`cache_control` itself is not part of the key. Each record says how many blocks
the request had and how many were read from the cache.

Run standalone for the benchmark: `python -m tests.fakes.anthropic_server --port 8999 --latency 2`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
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
    "schema_unsupported",  # 400: this model refuses output_config.format (tool calls work)
    "server_error_no_retry",  # 500 with x-should-retry: false
    "bad_request_retry",  # 400 with x-should-retry: true
}

MAX_CACHE_BREAKPOINTS = 4
CACHE_LOOKBACK_BLOCKS = 20
# Keywords outside the structured-output subset of JSON Schema.
UNSUPPORTED_SCHEMA_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    behaviour: str
    at: float
    blocks: int = 0  # cacheable blocks in the prompt: tools, system, message content
    cached_blocks: int = 0  # how many of them, from the start, were read from the cache
    rejected: str | None = None  # why the request was refused with a 400, if it was


@dataclass
class FakeState:
    latency: float = 0.0
    evaluation_latency: float = 0.0  # extra wait for structured (evaluation) requests only
    slow_seconds: float = 5.0
    retry_after: str = "1"
    chunk_delay: float = 0.0  # pause between streamed pieces, like a model writing
    batch_seconds: float = 0.5  # how long a Message Batch takes to end
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    json_schema_unsupported: bool = False  # every output_config.format request gets a 400
    script: deque[str] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    cache: dict[str, int] = field(default_factory=dict)  # prefix digest → its tokens
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
        """Back to the defaults: the fake is shared by every test of a process."""
        defaults = FakeState()
        with self.state.lock:
            self.state.script.clear()
            self.state.requests.clear()
            self.state.json_schema_unsupported = False
            for name in (
                "latency",
                "evaluation_latency",
                "slow_seconds",
                "retry_after",
                "chunk_delay",
                "batch_seconds",
            ):
                setattr(self.state, name, getattr(defaults, name))

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
        headers = {k.lower(): v for k, v in self.headers.items()}
        problem = _invalid(body)
        if problem is not None:
            # Refused before any scripted behaviour, as the API validates first.
            with self.state.lock:
                self.state.requests.append(
                    Recorded(self.path, headers, body, "invalid", time.time(), rejected=problem)
                )
            self._error(400, "invalid_request_error", problem)
            return
        behaviour = self.state.next_behaviour()
        record = Recorded(self.path, headers, body, behaviour, time.time())
        with self.state.lock:
            self.state.requests.append(record)
        if self.state.latency:
            time.sleep(self.state.latency)
        if self.state.evaluation_latency and _schema(body) is not None:
            time.sleep(self.state.evaluation_latency)
        wants_json_schema = "format" in (body.get("output_config") or {})
        if wants_json_schema and (
            behaviour == "schema_unsupported" or self.state.json_schema_unsupported
        ):
            record.rejected = "json_schema unsupported"
            self._error(
                400,
                "invalid_request_error",
                f"output_config.format: structured outputs are not supported by the model "
                f"{body.get('model')!r}",
            )
            return
        if behaviour == "server_error_no_retry":
            self._error(500, "api_error", "Internal server error", {"x-should-retry": "false"})
            return
        if behaviour == "bad_request_retry":
            self._error(400, "invalid_request_error", "Try again", {"x-should-retry": "true"})
            return
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
        message = self._answer(body, behaviour, record)
        if body.get("stream"):
            self._stream(message, behaviour)
        else:
            self._json(200, message)

    # ------------------------------------------------------------ answers

    def _answer(
        self, body: dict[str, Any], behaviour: str, record: Recorded | None = None
    ) -> dict[str, Any]:
        usage = self._cache_usage(body, record)
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

    def _cache_usage(self, body: dict[str, Any], record: Recorded | None) -> dict[str, int]:
        """Input tokens split into cache reads, cache writes and the rest."""
        blocks = _prompt_blocks(body)
        seed = json.dumps(
            [body.get("model"), body.get("tool_choice"), body.get("output_config")],
            sort_keys=True,
        )
        digests, tokens, running = [], [], hashlib.sha256(seed.encode())
        total = 0
        for key, _cached in blocks:
            running.update(key.encode())
            digests.append(running.hexdigest())
            total += max(1, len(key) // 4)
            tokens.append(total)
        breakpoints = [i for i, (_key, cached) in enumerate(blocks) if cached]
        with self.state.lock:
            hit = -1
            for point in breakpoints:
                for j in range(point, max(-1, point - CACHE_LOOKBACK_BLOCKS), -1):
                    if digests[j] in self.state.cache:
                        hit = max(hit, j)
                        break
            for point in breakpoints:
                self.state.cache[digests[point]] = tokens[point]
        read = tokens[hit] if hit >= 0 else 0
        written = tokens[breakpoints[-1]] - read if breakpoints and breakpoints[-1] > hit else 0
        if record is not None:
            record.blocks = len(blocks)
            record.cached_blocks = hit + 1
        return {
            "input_tokens": max(1, total - read - written),
            "output_tokens": 0,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
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


def _prompt_blocks(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The prompt as cacheable blocks in the API's order: (key without cache_control, marked)."""

    def key(kind: str, block: Any) -> tuple[str, bool]:
        if isinstance(block, str):
            block = {"type": "text", "text": block}
        marked = isinstance(block, dict) and bool(block.get("cache_control"))
        if isinstance(block, dict):
            block = {k: v for k, v in block.items() if k != "cache_control"}
        return json.dumps([kind, block], sort_keys=True, ensure_ascii=False), marked

    blocks = [key("tool", tool) for tool in body.get("tools") or []]
    system = body.get("system") or []
    blocks += [key("system", b) for b in ([system] if isinstance(system, str) else system)]
    for message in body.get("messages") or []:
        content = message.get("content")
        for block in [content] if isinstance(content, str) else content or []:
            blocks.append(key(str(message.get("role")), block))
    return blocks


def _invalid(body: dict[str, Any]) -> str | None:
    """What the real API would refuse in this request (a 400), or None."""
    marks = [b for b in _all_blocks(body) if isinstance(b, dict) and "cache_control" in b]
    for block in marks:
        control = block["cache_control"]
        if control is None:
            continue
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            return "cache_control: type must be 'ephemeral'"
        if set(control) - {"type", "ttl"} or control.get("ttl", "5m") not in ("5m", "1h"):
            return "cache_control: only ttl '5m' or '1h' may be given"
    marked = sum(1 for b in marks if b["cache_control"] is not None)
    if marked > MAX_CACHE_BREAKPOINTS:
        return (
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {marked}."
        )
    for index, tool in enumerate(body.get("tools") or []):
        if "strict" in tool and not isinstance(tool["strict"], bool):
            return f"tools.{index}.strict: Input should be a valid boolean"
        if tool.get("strict"):
            problem = _schema_problem(tool.get("input_schema"), f"tools.{index}.input_schema")
            if problem:
                return problem
    output = body.get("output_config")
    if output is not None:
        fmt = output.get("format") if isinstance(output, dict) else None
        if fmt is not None:
            if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
                return "output_config.format.type: Input should be 'json_schema'"
            problem = _schema_problem(fmt.get("schema"), "output_config.format.schema")
            if problem:
                return problem
    return None


def _all_blocks(body: dict[str, Any]) -> list[Any]:
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, list):
        blocks += system
    for message in body.get("messages") or []:
        if isinstance(message.get("content"), list):
            blocks += message["content"]
    return blocks


def _schema_problem(schema: Any, where: str) -> str | None:
    """The first way this schema leaves the structured-output subset, or None."""
    if not isinstance(schema, dict):
        return f"{where}: the schema must be an object"
    for keyword in UNSUPPORTED_SCHEMA_KEYWORDS:
        if keyword in schema:
            return f"{where}: '{keyword}' is not supported for structured outputs"
    if schema.get("minItems", 0) not in (0, 1):
        return f"{where}: 'minItems' values other than 0 or 1 are not supported"
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return (
                f"{where}: For 'object' type, 'additionalProperties' must be explicitly "
                "set to false"
            )
        for name, sub in (schema.get("properties") or {}).items():
            problem = _schema_problem(sub, f"{where}.properties.{name}")
            if problem:
                return problem
    if isinstance(schema.get("items"), dict):
        return _schema_problem(schema["items"], f"{where}.items")
    for combinator in ("anyOf", "allOf"):
        for n, sub in enumerate(schema.get(combinator) or []):
            problem = _schema_problem(sub, f"{where}.{combinator}.{n}")
            if problem:
                return problem
    return None


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
