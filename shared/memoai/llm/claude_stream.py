"""A streamed Messages API answer, assembled from its raw server-sent events.

The SDK's `messages.stream()` helper builds a pydantic model for every event
and, for a tool call, re-parses the whole partial JSON on each delta: about
130 µs of CPU per event here, quadratic in the tool input. A real evaluation
streams hundreds of deltas, so the worker spent more CPU reading the answer
than on anything else. The request, its retries and HTTP errors stay with
the SDK; only the event stream is read here (its public
`Stream.raw_events`), and the result has the attributes the provider reads
from an SDK `Message` (`content`, `model`, `stop_reason`, `usage`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# The optional cumulative counts a message_delta may carry; absent ones keep
# the message_start value (the SDK's rule too).
_DELTA_USAGE = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass
class StreamedUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


@dataclass
class StreamedBlock:
    type: str
    text: str = ""
    name: str = ""
    input: Any = None
    parts: list[str] = field(default_factory=list, repr=False)


@dataclass
class StreamedMessage:
    model: str = ""
    stop_reason: str | None = None
    content: list[StreamedBlock] = field(default_factory=list)
    usage: StreamedUsage = field(default_factory=StreamedUsage)


class StreamError(Exception):
    """An `error` event inside a 200 stream; `body` is its parsed JSON, if any."""

    def __init__(self, body: Any) -> None:
        super().__init__("error event in the stream")
        self.body = body


class StreamIncomplete(Exception):
    """The stream ended without message_start, or a tool input was not JSON."""


# Called with the kind of delta ("text" or "input_json") and its text.
DeltaSink = Callable[[str, str], None]


def assemble(events: Iterator[Any], on_delta: DeltaSink | None = None) -> StreamedMessage:
    """Read server-sent events (objects with `.event` and `.data`) into a message."""
    message: StreamedMessage | None = None
    for sse in events:
        kind = sse.event
        if kind is None or kind == "ping" or not sse.data:
            continue
        if kind == "error":
            try:
                body: Any = json.loads(sse.data)
            except ValueError:
                body = sse.data
            raise StreamError(body)
        try:
            message = _apply(message, kind, json.loads(sse.data), on_delta)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise StreamIncomplete(f"a malformed {kind} event ({type(exc).__name__})") from exc
    if message is None:
        raise StreamIncomplete("the stream ended before message_start")
    for block in message.content:
        if block.parts:  # a block the stream never closed: keep what arrived
            _finish_block(block)
    return message


def _apply(
    message: StreamedMessage | None, kind: str, data: Any, on_delta: DeltaSink | None
) -> StreamedMessage:
    """One event into the message; the message (a new one at message_start)."""
    if kind == "message_start":
        start = data["message"]
        fresh = StreamedMessage(model=start.get("model") or "")
        _update_usage(fresh.usage, start.get("usage") or {}, first=True)
        return fresh
    if message is None:
        raise StreamIncomplete(f"{kind} arrived before message_start")
    if kind == "content_block_delta":
        block = message.content[data["index"]]
        delta = data["delta"]
        if delta["type"] == "text_delta":
            piece = delta["text"]
        elif delta["type"] == "input_json_delta":
            piece = delta["partial_json"]
        else:
            return message  # citations, thinking, signatures: not used here
        block.parts.append(piece)
        if on_delta is not None:
            on_delta("text" if delta["type"] == "text_delta" else "input_json", piece)
    elif kind == "content_block_start":
        opened = data["content_block"]
        message.content.append(
            StreamedBlock(
                type=opened.get("type", ""),
                text=opened.get("text") or "",
                name=opened.get("name") or "",
                input=opened.get("input"),
            )
        )
    elif kind == "content_block_stop":
        _finish_block(message.content[data["index"]])
    elif kind == "message_delta":
        message.stop_reason = (data.get("delta") or {}).get("stop_reason")
        _update_usage(message.usage, data.get("usage") or {}, first=False)
    return message


def _finish_block(block: StreamedBlock) -> None:
    joined = "".join(block.parts)
    block.parts = []
    if block.type == "text":
        block.text += joined
    elif joined:
        try:
            block.input = json.loads(joined)
        except ValueError as exc:
            raise StreamIncomplete(f"the tool input is not JSON: {exc}") from exc


def _update_usage(usage: StreamedUsage, counts: dict[str, Any], *, first: bool) -> None:
    if first or counts.get("output_tokens") is not None:
        usage.output_tokens = counts.get("output_tokens") or 0
    for name in _DELTA_USAGE:
        value = counts.get(name)
        if value is not None:
            setattr(usage, name, value)
