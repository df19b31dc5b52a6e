"""Build the configured provider once per process (its HTTP pool is reused)."""

from __future__ import annotations

import threading

from memoai.config import Settings
from memoai.llm.circuit import breaker
from memoai.llm.offline import OfflineProvider
from memoai.llm.ratelimit import limiter
from memoai.llm.retry import RetryPolicy

AnyProvider = object  # ClaudeProvider | OfflineProvider (| OpenAIProvider)

_lock = threading.Lock()
_cache: dict[tuple[object, ...], object] = {}


def build_provider(
    settings: Settings, name: str | None = None, *, api_key: str | None = None
) -> object:
    name = name or settings.llm_provider
    llm = settings.llm
    if name == "offline":
        return OfflineProvider()
    model = llm.provider.model
    perf = llm.performance
    retry = RetryPolicy(
        attempts=llm.request_settings.retry_attempts,
        base_delay=llm.request_settings.retry_delay,
        breaker=breaker(
            f"{name}:{model}", perf.circuit_breaker_threshold, perf.circuit_breaker_cooldown
        ),
        rate_limiter=limiter(
            perf.rate_limit_per_minute, settings.redis_url, settings.backend.queue.key_prefix
        ),
        rate_key=f"{name}:{model}",
    )
    if name == "claude":
        from memoai.llm.claude import ClaudeProvider

        api_key = api_key or llm.provider.api_key
        if not api_key:
            return OfflineProvider()
        return ClaudeProvider(
            api_key=api_key,
            model=model,
            base_url=llm.provider.base_url,
            timeout=llm.request_settings.timeout,
            retry=retry,
            structured_output=llm.provider.structured_output,
            streaming=llm.performance.response_streaming,
        )
    if name == "openai":
        from memoai.llm.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(
            api_key=api_key or llm.provider.api_key,
            model=model,
            base_url=llm.provider.base_url,
            timeout=llm.request_settings.timeout,
            retry=retry,
            structured_output=llm.provider.structured_output,
            streaming=llm.performance.response_streaming,
        )
    raise ValueError(f"unknown LLM provider {name!r}")


def get_provider(settings: Settings) -> object:
    key = (settings.llm_provider, settings.llm.provider.model, settings.llm.provider.base_url)
    provider = _cache.get(key)
    if provider is None:
        with _lock:
            provider = _cache.get(key)
            if provider is None:
                provider = build_provider(settings)
                _cache[key] = provider
    return provider


def get_fallback_provider(settings: Settings) -> object | None:
    """The secondary provider when llm.yaml enables a fallback, else None."""
    fallback = settings.llm.fallback
    if not fallback.enabled or fallback.secondary_provider == settings.llm_provider:
        return None
    key = ("fallback", fallback.secondary_provider, settings.llm.provider.model)
    provider = _cache.get(key)
    if provider is None:
        with _lock:
            provider = _cache.get(key)
            if provider is None:
                provider = build_provider(
                    settings, fallback.secondary_provider, api_key=fallback.secondary_api_key
                )
                _cache[key] = provider
    return provider


def reset_providers() -> None:
    from memoai.llm.circuit import reset_breakers

    with _lock:
        _cache.clear()
    reset_breakers()
