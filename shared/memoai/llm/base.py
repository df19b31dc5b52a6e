"""The provider interface, its request/response types and its errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from memoai.config.schemas import Pricing
from memoai.llm.pricing import cost_usd as pricing_cost


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_creation_tokens + other.cache_creation_tokens,
        )

    def cost_usd(self, pricing: Pricing, model: str) -> float | None:
        """USD for these tokens, or None when the model's family has no price."""
        return pricing_cost(self, pricing, model)


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class StructuredRequest:
    system: str  # static part, sent first and marked cacheable
    messages: list[Message]
    schema: dict[str, Any]
    schema_name: str = "submit_evaluation"
    max_tokens: int = 4000
    temperature: float = 0.2


@dataclass
class StructuredResponse:
    data: Any | None  # parsed JSON, or None when the output was not JSON
    text: str  # the raw output, for the debug view and the repair turn
    usage: Usage
    model: str
    latency: float
    parse_error: str | None = None
    # "tool" when the model refused JSON-schema output and the call was made
    # again with a forced tool (recorded in the debug view).
    structured_output_fallback: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    system: str  # static coaching instructions, rubric, frameworks (cacheable)
    messages: list[Message]
    context: str | None = None  # this memo, its versions and evaluation (cacheable per chat)
    max_tokens: int = 1024
    temperature: float = 0.5
    # Mark the conversation so far cacheable, for the next turn to read it back.
    cache_history: bool = True


@dataclass
class ChatResponse:
    text: str
    usage: Usage
    model: str
    latency: float
    extra: dict[str, Any] = field(default_factory=dict)


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    """`x-should-retry` as the SDKs read it: "true" or "false", anything else is no verdict."""
    value = (headers.get("x-should-retry") or "").strip().lower()
    return True if value == "true" else False if value == "false" else None


ProgressCallback = Callable[[int], None]  # characters of output received so far
DeltaCallback = Callable[[str], None]


class LlmError(Exception):
    """A provider call failed. ``code`` is stable and shown to users."""

    code = "llm_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        # The server's own verdict (`x-should-retry: true|false`); it overrides
        # what the status suggests, in both directions.
        self.should_retry = should_retry

    @property
    def retry(self) -> bool:
        """Whether another attempt may succeed: the server's verdict, else the kind's."""
        return self.retryable if self.should_retry is None else self.should_retry


class LlmTimeout(LlmError):
    code = "llm_timeout"
    retryable = True


class LlmRateLimited(LlmError):
    code = "llm_rate_limited"
    retryable = True


class LlmUnavailable(LlmError):
    code = "llm_unavailable"  # 5xx, 529 overloaded, connection failures
    retryable = True


class LlmAuthError(LlmError):
    code = "llm_auth_error"


class LlmBadRequest(LlmError):
    code = "llm_bad_request"


class LlmStructuredOutputUnsupported(LlmBadRequest):
    """The model refused JSON-schema output (`output_config.format`): use a tool instead."""


class LlmBadOutput(LlmError):
    code = "llm_bad_output"


class LlmCircuitOpen(LlmError):
    code = "llm_circuit_open"
    retryable = True


class Provider(Protocol):
    name: str
    model: str

    def generate_structured(
        self, request: StructuredRequest, on_progress: ProgressCallback | None = None
    ) -> StructuredResponse: ...

    def chat(self, request: ChatRequest, on_delta: DeltaCallback | None = None) -> ChatResponse: ...
