"""OpenAI-compatible chat-completions servers (vLLM, Ollama, llama.cpp server, …).

For organisations that cannot send memos to a public API. Uses the official
`openai` client against `LLM_BASE_URL`. Structured output is asked for with a
JSON schema (`response_format: json_schema`); a server that rejects it is
remembered and asked again with the schema in the prompt only, and the answer
is then extracted tolerantly (code fences, prose around the JSON). Validation,
the repair turn and grounding are the same as for Claude.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import openai

from memoai.llm.base import (
    ChatRequest,
    ChatResponse,
    DeltaCallback,
    LlmAuthError,
    LlmBadRequest,
    LlmError,
    LlmRateLimited,
    LlmTimeout,
    LlmUnavailable,
    ProgressCallback,
    StructuredRequest,
    StructuredResponse,
    Usage,
    should_retry_header,
)
from memoai.llm.jsonparse import extract_json
from memoai.llm.retry import RetryPolicy, call_with_retries

_SCHEMA_HINT = (
    "\n\nAnswer with one JSON object only (no prose, no code fences) that matches this "
    "JSON schema:\n{schema}"
)


class OpenAICompatProvider:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None,
        model: str,
        base_url: str | None,
        timeout: float,
        retry: RetryPolicy,
        structured_output: str = "json_schema",
        streaming: bool = True,
    ) -> None:
        self.model = model
        self._retry = retry
        self._streaming = streaming
        self._schema_supported = structured_output == "json_schema"
        self._lock = threading.Lock()
        self._client = openai.OpenAI(
            # Self-hosted servers usually ignore the key, but the client needs one.
            api_key=api_key or "not-needed",
            base_url=_v1(base_url) if base_url else None,
            timeout=openai.Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=0,
        )

    # ------------------------------------------------------------ structured

    def generate_structured(
        self, request: StructuredRequest, on_progress: ProgressCallback | None = None
    ) -> StructuredResponse:
        # The schema always goes in the prompt too: a server that enforces it
        # loses nothing, and one that cannot enforce it still knows the shape.
        system = request.system + _SCHEMA_HINT.format(schema=json.dumps(request.schema))
        messages = [{"role": "system", "content": system}] + [
            {"role": m.role, "content": m.content} for m in request.messages
        ]
        started = time.monotonic()

        def attempt() -> tuple[str, Usage, str, str | None]:
            kwargs: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
            }
            if self._schema_supported:
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": request.schema,
                        "strict": True,
                    },
                }
            try:
                return self._complete(kwargs, on_progress)
            except LlmBadRequest as exc:
                if self._schema_supported and "response_format" in exc.message.lower():
                    with self._lock:
                        self._schema_supported = False  # remembered for this process
                    kwargs.pop("response_format")
                    return self._complete(kwargs, on_progress)
                raise

        text, usage, model, finish = call_with_retries(attempt, self._retry, self.name, self.model)
        data, error = extract_json(text)
        if finish == "length" and error:
            error = "the answer was cut off at max_tokens"
        return StructuredResponse(data, text, usage, model, time.monotonic() - started, error)

    def _complete(
        self, kwargs: dict[str, Any], on_progress: ProgressCallback | None
    ) -> tuple[str, Usage, str, str | None]:
        try:
            if not self._streaming:
                response = self._client.chat.completions.create(**kwargs)
                choice = response.choices[0]
                return (
                    choice.message.content or "",
                    _usage(response.usage),
                    response.model or self.model,
                    choice.finish_reason,
                )
            return self._stream(kwargs, on_progress)
        except openai.APIError as exc:
            raise _map_error(exc) from exc

    def _stream(
        self,
        kwargs: dict[str, Any],
        on_delta: ProgressCallback | DeltaCallback | None,
        text_callback: bool = False,
    ) -> tuple[str, Usage, str, str | None]:
        parts: list[str] = []
        usage = Usage()
        model = self.model
        finish: str | None = None
        received = 0
        stream = self._client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = _usage(chunk.usage)
            for choice in chunk.choices:
                piece = choice.delta.content or ""
                if piece:
                    parts.append(piece)
                    received += len(piece)
                    if on_delta is not None:
                        on_delta(piece if text_callback else received)  # type: ignore[arg-type]
                finish = choice.finish_reason or finish
        return "".join(parts), usage, model, finish

    # ------------------------------------------------------------ chat

    def chat(self, request: ChatRequest, on_delta: DeltaCallback | None = None) -> ChatResponse:
        system = request.system + (f"\n\n{request.context}" if request.context else "")
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}]
            + [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        started = time.monotonic()

        def attempt() -> tuple[str, Usage, str, str | None]:
            try:
                return self._stream(kwargs, on_delta, text_callback=True)
            except openai.APIError as exc:
                raise _map_error(exc) from exc

        text, usage, model, _finish = call_with_retries(attempt, self._retry, self.name, self.model)
        return ChatResponse(text=text, usage=usage, model=model, latency=time.monotonic() - started)


def _v1(base_url: str) -> str:
    """Accept both `http://host:8000` and `http://host:8000/v1`."""
    base = base_url.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return Usage(
        input_tokens=max(0, (usage.prompt_tokens or 0) - cached),
        output_tokens=usage.completion_tokens or 0,
        cache_read_tokens=cached,
    )


def _map_error(exc: openai.APIError) -> LlmError:
    error = _map_status(exc)
    if isinstance(exc, openai.APIStatusError):
        error.should_retry = should_retry_header(exc.response.headers)
    return error


def _map_status(exc: openai.APIError) -> LlmError:
    if isinstance(exc, openai.APITimeoutError):
        return LlmTimeout("the model server did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return LlmUnavailable("could not connect to the model server")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _detail(exc)
        if status == 429:
            retry_after = exc.response.headers.get("retry-after")
            return LlmRateLimited(
                f"model server rate limit (429){detail}",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if status >= 500 or status in (408, 409):
            return LlmUnavailable(f"model server error ({status}){detail}")
        if status in (401, 403):
            return LlmAuthError(f"the model server rejected the credentials ({status})")
        return LlmBadRequest(f"the model server rejected the request ({status}){detail}")
    return LlmUnavailable(f"model server call failed: {type(exc).__name__}")


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    message: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message or body.get("message")
    return f": {message[:200]}" if isinstance(message, str) and message else ""
