"""Build the configured provider once per process (its HTTP pool is reused)."""

from __future__ import annotations

import threading

from memoai.config import Settings
from memoai.llm.offline import OfflineProvider
from memoai.llm.retry import RetryPolicy

AnyProvider = object  # ClaudeProvider | OfflineProvider (| OpenAIProvider)

_lock = threading.Lock()
_cache: dict[tuple[object, ...], object] = {}


def build_provider(settings: Settings, name: str | None = None) -> object:
    name = name or settings.llm_provider
    llm = settings.llm
    if name == "offline":
        return OfflineProvider()
    retry = RetryPolicy(
        attempts=llm.request_settings.retry_attempts,
        base_delay=llm.request_settings.retry_delay,
    )
    if name == "claude":
        from memoai.llm.claude import ClaudeProvider

        api_key = llm.provider.api_key
        if not api_key:
            return OfflineProvider()
        return ClaudeProvider(
            api_key=api_key,
            model=llm.provider.model,
            base_url=llm.provider.base_url,
            timeout=llm.request_settings.timeout,
            retry=retry,
            structured_output=llm.provider.structured_output,
            streaming=llm.performance.response_streaming,
        )
    raise ValueError(f"LLM provider {name!r} is not available in this build")


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


def reset_providers() -> None:
    with _lock:
        _cache.clear()
