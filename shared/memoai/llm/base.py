"""The provider interface, its request/response types and its errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from memoai.config.schemas import Pricing


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

    def cost_usd(self, pricing: Pricing, model: str) -> float:
        price = pricing.for_model(model)
        return round(
            (
                self.input_tokens * price.input
                + self.output_tokens * price.output
                + self.cache_read_tokens * price.cache_read
                + self.cache_creation_tokens * price.cache_write
            )
            / 1_000_000,
            6,
        )


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


@dataclass(frozen=True)
class ChatRequest:
    system: str  # static coaching instructions, rubric, frameworks (cacheable)
    messages: list[Message]
    context: str | None = None  # this memo, its versions and evaluation (cacheable per chat)
    max_tokens: int = 1024
    temperature: float = 0.5


@dataclass
class ChatResponse:
    text: str
    usage: Usage
    model: str
    latency: float
    extra: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[int], None]  # characters of output received so far
DeltaCallback = Callable[[str], None]


class LlmError(Exception):
    """A provider call failed. ``code`` is stable and shown to users."""

    code = "llm_error"
    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


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
