"""The streamed answer is read from its raw events: crafted streams, real SDK.

Each test serves one exact byte stream on 127.0.0.1 and calls the provider
through the real `anthropic` SDK, so what is checked is what a worker sees
when Claude sends deltas split anywhere, a tool input in pieces, a late
usage count, an error event, or a connection that breaks mid-stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from memoai.llm.base import (
    ChatRequest,
    LlmBadOutput,
    LlmRateLimited,
    LlmUnavailable,
    Message,
    StructuredRequest,
)
from memoai.llm.claude import ClaudeProvider
from memoai.llm.retry import RetryPolicy

SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string"}},
    "required": ["verdict"],
    "additionalProperties": False,
}


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def start(model: str = "claude-test", input_tokens: int = 11) -> bytes:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    return sse("message_start", {"type": "message_start", "message": message})


def block(index: int, content: dict[str, Any], pieces: list[str]) -> bytes:
    kind = "input_json_delta" if content["type"] == "tool_use" else "text_delta"
    key = "partial_json" if kind == "input_json_delta" else "text"
    out = sse(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": content},
    )
    for piece in pieces:
        out += sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": {"type": kind, key: piece}},
        )
    return out + sse("content_block_stop", {"type": "content_block_stop", "index": index})


# A text block opened and never closed: what a stream cut short has sent.
TEXT_OPENED = sse(
    "content_block_start",
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
)


def end(output_tokens: int, stop: str = "end_turn", **usage: int) -> bytes:
    return sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens, **usage},
        },
    ) + sse("message_stop", {"type": "message_stop"})


class Served:
    """Serves `body` (a 200 event stream) to every request; `cut` closes it early."""

    def __init__(self) -> None:
        self.body = b""
        self.requests: list[dict[str, Any]] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                served.requests.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                if served.cut:
                    # Promise more than is sent, then hang up: a broken stream.
                    self.send_header("content-length", str(len(served.body) + 500))
                self.end_headers()
                self.wfile.write(served.body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.cut = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    s.thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


def provider(url: str, mode: str = "json_schema") -> ClaudeProvider:
    return ClaudeProvider(
        api_key="sk-ant-test",
        model="claude-test",
        base_url=url,
        timeout=5,
        retry=RetryPolicy(attempts=1),
        structured_output=mode,
    )


def request() -> StructuredRequest:
    return StructuredRequest(system="s", messages=[Message("user", "memo")], schema=SCHEMA)


def test_text_split_anywhere_is_joined_and_progress_counts_every_delta(served: Served) -> None:
    answer = json.dumps({"verdict": "clear ask, ünïcode kept"}, ensure_ascii=False)
    pieces = [answer[i : i + 3] for i in range(0, len(answer), 3)]
    served.body = start() + block(0, {"type": "text", "text": ""}, pieces) + end(42)
    progress: list[int] = []
    response = provider(served.url).generate_structured(request(), progress.append)
    assert response.data == {"verdict": "clear ask, ünïcode kept"}
    assert response.text == answer
    assert progress == [len(answer[: i + 3]) for i in range(0, len(answer), 3)]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 42)
    assert response.model == "claude-test"
    assert served.requests[0]["stream"] is True


def test_a_tool_input_in_pieces_is_parsed_once_at_the_end(served: Served) -> None:
    raw = json.dumps({"verdict": "lead with the ask"})
    tool = {"type": "tool_use", "id": "t1", "name": "submit_evaluation", "input": {}}
    served.body = start() + block(0, tool, [raw[:5], raw[5:9], raw[9:]]) + end(7)
    response = provider(served.url, "tool").generate_structured(request())
    assert response.data == {"verdict": "lead with the ask"}
    assert response.parse_error is None


def test_late_usage_counts_override_the_start_and_absent_ones_keep_it(served: Served) -> None:
    text = block(0, {"type": "text", "text": ""}, ['{"verdict": "ok"}'])
    served.body = start(input_tokens=5) + text + end(9, cache_read_input_tokens=300)
    usage = provider(served.url).generate_structured(request()).usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (5, 9, 300)


def test_a_cut_off_answer_says_max_tokens(served: Served) -> None:
    served.body = (
        start()
        + block(0, {"type": "text", "text": ""}, ['{"verdict": "trunc'])
        + end(4000, "max_tokens")
    )
    response = provider(served.url).generate_structured(request())
    assert response.data is None
    assert response.parse_error == "the answer was cut off at max_tokens"


def test_a_tool_input_that_is_not_json_is_bad_output(served: Served) -> None:
    tool = {"type": "tool_use", "id": "t1", "name": "submit_evaluation", "input": {}}
    served.body = start() + block(0, tool, ['{"verdict": ', "oops"]) + end(3)
    with pytest.raises(LlmBadOutput, match="not JSON"):
        provider(served.url, "tool").generate_structured(request())


@pytest.mark.parametrize(
    ("kind", "error"),
    [("overloaded_error", LlmUnavailable), ("rate_limit_error", LlmRateLimited)],
)
def test_an_error_event_mid_stream_maps_like_its_status(
    served: Served, kind: str, error: type[Exception]
) -> None:
    served.body = (
        start()
        + TEXT_OPENED
        + sse("error", {"type": "error", "error": {"type": kind, "message": "Busy now"}})
    )
    with pytest.raises(error, match="Busy now"):
        provider(served.url).generate_structured(request())


def test_a_stream_with_no_message_start_is_bad_output(served: Served) -> None:
    served.body = sse("ping", {"type": "ping"})
    with pytest.raises(LlmBadOutput, match="before message_start"):
        provider(served.url).generate_structured(request())


@pytest.mark.parametrize(
    "bad",
    [
        # A delta for a block that was never started, one without its text,
        # and an event whose data is not JSON.
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 3,
                "delta": {"type": "text_delta", "text": "x"},
            },
        ),
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}},
        ),
        b"event: content_block_delta\ndata: {not json\n\n",
    ],
    ids=["unknown-block", "no-text", "not-json"],
)
def test_a_malformed_event_is_bad_output_not_a_crash(served: Served, bad: bytes) -> None:
    served.body = start() + TEXT_OPENED + bad
    with pytest.raises(LlmBadOutput, match="malformed content_block_delta"):
        provider(served.url).generate_structured(request())


def test_a_connection_broken_mid_stream_is_unavailable_not_a_crash(served: Served) -> None:
    served.cut = True
    served.body = start() + TEXT_OPENED
    with pytest.raises(LlmUnavailable, match="broke in the middle"):
        provider(served.url).generate_structured(request())


def test_chat_streams_only_text_deltas_to_the_caller(served: Served) -> None:
    served.body = (
        start() + block(0, {"type": "text", "text": ""}, ["Lead ", "with ", "the ask."]) + end(6)
    )
    seen: list[str] = []
    reply = provider(served.url).chat(
        ChatRequest(system="coach", messages=[Message("user", "help")], max_tokens=100),
        seen.append,
    )
    assert seen == ["Lead ", "with ", "the ask."]
    assert reply.text == "Lead with the ask."
    assert reply.usage.output_tokens == 6
