"""Claude through the official `anthropic` SDK. The only module that imports it.

Sampling temperature is not sent: the Messages API of this SDK generation no
longer takes it (llm.yaml's temperature applies to the openai provider).

Retries are ours, not the SDK's (its max_retries is 0): we honour `retry-after`
and `x-should-retry` (the server's verdict beats the status, both ways) but never
wait past the call's deadline, and every attempt is visible to metrics.

Structured output is `output_config.format` (a JSON schema) or one forced tool
with `strict: true`, so the API itself guarantees the input matches the schema.
A model that refuses JSON-schema output gets the same call once more as a tool
call; the response says so (`structured_output_fallback`).

Prompt caching: the static system block, the chat's memo block and, in a chat,
the last user turn carry `cache_control` (3 of the API's 4 breakpoints). The
API reads the longest cached prefix, so turn N+1 reads turn N's whole history
from the cache and writes only the new turns.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2  # the SDK's HTTP client: errors raised while a stream is read
import structlog

from memoai.llm.base import (
    ChatRequest,
    ChatResponse,
    DeltaCallback,
    LlmAuthError,
    LlmBadOutput,
    LlmBadRequest,
    LlmError,
    LlmRateLimited,
    LlmStructuredOutputUnsupported,
    LlmTimeout,
    LlmUnavailable,
    ProgressCallback,
    StructuredRequest,
    StructuredResponse,
    Usage,
    should_retry_header,
)
from memoai.llm.claude_stream import (
    DeltaSink,
    StreamedMessage,
    StreamError,
    StreamIncomplete,
    assemble,
)
from memoai.llm.jsonparse import extract_json
from memoai.llm.retry import RetryPolicy, call_with_retries

log = structlog.get_logger(__name__)

# A cache breakpoint (5-minute TTL). The API allows 4 per request; we use 3 at most.
EPHEMERAL = {"type": "ephemeral"}


class ClaudeProvider:
    name = "claude"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout: float,
        retry: RetryPolicy,
        structured_output: str = "json_schema",
        streaming: bool = True,
    ) -> None:
        self.model = model
        self._structured_output = structured_output
        self._streaming = streaming
        self._retry = retry
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url or None,
            timeout=anthropic.Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=0,
        )

    # ------------------------------------------------------------ structured

    def generate_structured(
        self, request: StructuredRequest, on_progress: ProgressCallback | None = None
    ) -> StructuredResponse:
        mode = self._structured_output
        started = time.monotonic()
        try:
            message = self._call_structured(request, mode, on_progress)
        except LlmStructuredOutputUnsupported as exc:
            if mode != "json_schema":
                raise
            # Once, for this call only: the next call tries JSON-schema output
            # again, so a model (or gateway) that gains support is used as meant.
            log.warning(
                "llm.structured_output_fallback",
                provider=self.name,
                model=self.model,
                fallback="tool",
                error=exc.message,
            )
            mode = "tool"
            message = self._call_structured(request, mode, on_progress)
        response = self._structured_response(message, request, time.monotonic() - started, mode)
        if mode != self._structured_output:
            response.structured_output_fallback = mode
        return response

    def _call_structured(
        self, request: StructuredRequest, mode: str, on_progress: ProgressCallback | None
    ) -> Any:
        kwargs = self._structured_params(request, mode)
        return call_with_retries(
            lambda: self._send(kwargs, on_progress), self._retry, self.name, self.model
        )

    def _structured_params(
        self, request: StructuredRequest, mode: str | None = None
    ) -> dict[str, Any]:
        mode = mode or self._structured_output
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            # The static part (instructions, rubric, frameworks, context) is
            # identical across memos: mark it so the provider can cache it.
            "system": [{"type": "text", "text": request.system, "cache_control": EPHEMERAL}],
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if mode == "tool":
            kwargs["tools"] = [
                {
                    "name": request.schema_name,
                    "description": "Submit the complete evaluation of the memo.",
                    "input_schema": request.schema,
                    # Constrained decoding: the input is guaranteed to match the schema.
                    "strict": True,
                }
            ]
            kwargs["tool_choice"] = {"type": "tool", "name": request.schema_name}
        else:
            kwargs["output_config"] = {"format": {"type": "json_schema", "schema": request.schema}}
        return kwargs

    def _structured_response(
        self, message: Any, request: StructuredRequest, latency: float, mode: str | None = None
    ) -> StructuredResponse:
        usage = _usage(message)
        model = message.model or self.model
        if (mode or self._structured_output) == "tool":
            for block in message.content:
                if block.type == "tool_use" and block.name == request.schema_name:
                    return StructuredResponse(
                        block.input, _dumps(block.input), usage, model, latency
                    )
            return StructuredResponse(
                None, _text_of(message), usage, model, latency, "the tool was not called"
            )
        text = _text_of(message)
        data, error = extract_json(text)
        if message.stop_reason == "max_tokens" and error:
            error = "the answer was cut off at max_tokens"
        return StructuredResponse(data, text, usage, model, latency, error)

    # ------------------------------------------------------------ message batches

    def create_batch(self, requests: list[tuple[str, StructuredRequest]]) -> str:
        """Submit evaluations to the Message Batches API (half price, up to 24 h)."""
        params = [
            {"custom_id": custom_id, "params": self._structured_params(request)}
            for custom_id, request in requests
        ]

        def attempt() -> Any:
            try:
                return self._client.messages.batches.create(requests=params)  # type: ignore[arg-type]
            except anthropic.APIError as exc:
                raise _map_error(exc) from exc

        batch = call_with_retries(attempt, self._retry, self.name, self.model)
        return str(batch.id)

    def batch_ended(self, batch_id: str) -> bool:
        try:
            batch = self._client.messages.batches.retrieve(batch_id)
        except anthropic.APIError as exc:
            raise _map_error(exc) from exc
        return batch.processing_status == "ended"

    def batch_results(
        self, batch_id: str, requests: dict[str, StructuredRequest]
    ) -> Iterator[tuple[str, StructuredResponse | LlmError]]:
        """Each result by custom_id: a parsed response, or the error it ended with."""
        try:
            results = self._client.messages.batches.results(batch_id)
        except anthropic.APIError as exc:
            raise _map_error(exc) from exc
        for item in results:
            outcome = item.result
            request = requests.get(item.custom_id)
            if request is None:
                continue
            if outcome.type == "succeeded":
                yield item.custom_id, self._structured_response(outcome.message, request, 0.0)
            else:
                yield item.custom_id, LlmUnavailable(f"the batch request {outcome.type}")

    def _send(self, kwargs: dict[str, Any], on_progress: ProgressCallback | None) -> Any:
        if not self._streaming:
            try:
                return self._client.messages.create(**kwargs)
            except anthropic.APIError as exc:
                raise _map_error(exc) from exc
        received = 0

        def count(_kind: str, piece: str) -> None:
            nonlocal received
            received += len(piece)
            if on_progress is not None:
                on_progress(received)

        return self._stream(kwargs, count)

    def _stream(self, kwargs: dict[str, Any], on_delta: DeltaSink | None) -> StreamedMessage:
        """One streamed call: the SDK sends it, `claude_stream` reads the events."""
        try:
            with self._client.messages.with_streaming_response.create(
                **kwargs, stream=True
            ) as response:
                return assemble(anthropic.Stream.raw_events(response.http_response), on_delta)
        except anthropic.APIError as exc:
            raise _map_error(exc) from exc
        except StreamError as exc:
            raise _stream_error(exc.body) from None
        except StreamIncomplete as exc:
            raise LlmBadOutput(f"could not parse the streamed answer: {exc}") from exc
        except httpx2.TimeoutException as exc:
            raise LlmTimeout("Claude stopped answering in the middle of the stream") from exc
        except httpx2.TransportError as exc:
            raise LlmUnavailable(
                "the connection to Claude broke in the middle of the stream"
            ) from exc

    # ------------------------------------------------------------ chat

    def chat(self, request: ChatRequest, on_delta: DeltaCallback | None = None) -> ChatResponse:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": _chat_system(request),
            "messages": _chat_messages(request),
        }

        def text(kind: str, piece: str) -> None:
            if on_delta is not None and kind == "text" and piece:
                on_delta(piece)

        def attempt() -> Any:
            return self._stream(kwargs, text)

        started = time.monotonic()
        message = call_with_retries(attempt, self._retry, self.name, self.model)
        return ChatResponse(
            text=_text_of(message),
            usage=_usage(message),
            model=message.model or self.model,
            latency=time.monotonic() - started,
        )


def _chat_system(request: ChatRequest) -> list[dict[str, Any]]:
    system = [{"type": "text", "text": request.system, "cache_control": EPHEMERAL}]
    if request.context:
        # Second breakpoint: the memo block stays the same for the whole chat.
        system.append({"type": "text", "text": request.context, "cache_control": EPHEMERAL})
    return system


def _chat_messages(request: ChatRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": m.role, "content": m.content} for m in request.messages
    ]
    if request.cache_history:
        # Third breakpoint, on the last user turn: this request writes the
        # history to the cache and the next turn, whose history starts with
        # this one unchanged, reads it. cache_control is not part of the cache
        # key, so moving the marker to the newer turn keeps the prefix equal.
        for message in reversed(messages):
            if message["role"] == "user":
                message["content"] = [
                    {"type": "text", "text": message["content"], "cache_control": EPHEMERAL}
                ]
                break
    return messages


def _text_of(message: Any) -> str:
    return "".join(str(block.text) for block in message.content if block.type == "text")


def _usage(message: Any) -> Usage:
    u = message.usage
    return Usage(
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_read_tokens=getattr(u, "cache_read_input_tokens", None) or 0,
        cache_creation_tokens=getattr(u, "cache_creation_input_tokens", None) or 0,
    )


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                continue
    return None


def _map_error(exc: anthropic.APIError) -> LlmError:
    """Turn an SDK error into ours; messages never include request data or keys."""
    error = _map_status(exc)
    if isinstance(exc, anthropic.APIStatusError):
        error.should_retry = should_retry_header(exc.response.headers)
    return error


# A 400 that refuses the JSON-schema output itself, in the wordings seen from
# the API and the gateways in front of it ("output_config.format: Extra inputs
# are not permitted", "… does not support structured outputs").
_SCHEMA_REFUSAL = re.compile(r"output_config|output_format|structured output|json_schema", re.I)


def _map_status(exc: anthropic.APIError) -> LlmError:
    if isinstance(exc, anthropic.APITimeoutError):
        return LlmTimeout("Claude did not answer in time")
    if isinstance(exc, anthropic.APIConnectionError):
        return LlmUnavailable("could not connect to Claude")
    if isinstance(exc, anthropic.APIStatusError):
        # (An error event inside a stream is read by claude_stream: _stream_error.)
        detail = _error_detail(exc.body)
        return _for_status(exc.status_code, _error_type(exc.body), detail, _retry_after(exc))
    return LlmUnavailable(f"Claude call failed: {type(exc).__name__}")


def _stream_error(body: Any) -> LlmError:
    """An `error` event read from a stream (its HTTP status was 200)."""
    kind = _error_type(body)
    return _for_status(_STREAM_ERROR_STATUS.get(kind, 500), kind, _error_detail(body), None)


def _for_status(status: int, kind: str, detail: str, retry_after: float | None) -> LlmError:
    if status == 429:
        return LlmRateLimited(f"Claude rate limit (429){detail}", retry_after=retry_after)
    if status == 529:
        return LlmUnavailable(f"Claude is overloaded (529){detail}", retry_after=retry_after)
    if status >= 500 or status in (408, 409):
        return LlmUnavailable(f"Claude server error ({status}){detail}", retry_after=retry_after)
    if status in (401, 403):
        return LlmAuthError(f"Claude rejected the API key ({status})")
    if status == 400 and kind == "invalid_request_error" and _SCHEMA_REFUSAL.search(detail):
        return LlmStructuredOutputUnsupported(f"Claude refused JSON-schema output (400){detail}")
    return LlmBadRequest(f"Claude rejected the request ({status}){detail}")


_STREAM_ERROR_STATUS = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "authentication_error": 401,
    "permission_error": 403,
    "invalid_request_error": 400,
}


def _error_type(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("type"), str):
            return str(err["type"])
    return ""


def _error_detail(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return f": {err['message'][:200]}"
    return ""
