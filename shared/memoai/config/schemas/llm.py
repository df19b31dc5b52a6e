"""Schema of ``llm.yaml``: the model provider, request settings, fallback and pricing.

Owns the provider choice (``ProviderName``), its key, URL and model, request
timeouts, retries and token limits, connection and circuit-breaker settings,
the fallback provider, and per-model token prices.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from memoai.config.schemas.common import OptStr, PosFloat, PosInt, Strict, Text

ProviderName = Literal["claude", "openai", "offline"]


class ProviderConfig(Strict):
    name: ProviderName = "claude"
    api_key: OptStr = Field(default=None, repr=False)
    base_url: OptStr = None
    model: Text = "claude-sonnet-5-5"
    structured_output: Literal["json_schema", "tool", "prompt"] = "json_schema"


class RequestSettings(Strict):
    timeout: PosFloat = 60
    retry_attempts: Annotated[int, Field(ge=0, le=10)] = 3
    retry_delay: Annotated[float, Field(ge=0)] = 1
    max_tokens: Annotated[int, Field(ge=256, le=64_000)] = 4000
    temperature: Annotated[float, Field(ge=0, le=1)] = 0.2
    chat_max_tokens: Annotated[int, Field(ge=64, le=16_000)] = 1024
    chat_temperature: Annotated[float, Field(ge=0, le=1)] = 0.5


class LlmPerformance(Strict):
    connection_pool_size: PosInt = 10
    rate_limit_per_minute: PosInt = 100
    batch_processing: bool = False
    response_streaming: bool = True
    circuit_breaker_threshold: PosInt = 5
    circuit_breaker_cooldown: PosFloat = 30
    batch_poll_interval: PosFloat = 60


class Fallback(Strict):
    enabled: bool = False
    secondary_provider: ProviderName = "offline"
    secondary_api_key: OptStr = Field(default=None, repr=False)
    fallback_timeout: PosFloat = 30


class Price(Strict):
    input: Annotated[float, Field(ge=0)]
    output: Annotated[float, Field(ge=0)]
    cache_read: Annotated[float, Field(ge=0)] = 0
    cache_write: Annotated[float, Field(ge=0)] = 0


class Pricing(Strict):
    # Keys are model families (`claude-sonnet-4-5`) or exact ids; a dated or
    # platform-wrapped id finds its family (memoai.llm.pricing). An id with no
    # entry costs null unless `default` is set: an explicit price for any model.
    default: Price | None = None
    models: dict[str, Price] = {}


class Llm(Strict):
    provider: ProviderConfig = ProviderConfig()
    request_settings: RequestSettings = RequestSettings()
    performance: LlmPerformance = LlmPerformance()
    fallback: Fallback = Fallback()
    pricing: Pricing = Pricing()


class LlmFile(Strict):
    llm: Llm
