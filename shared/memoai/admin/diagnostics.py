"""System status, the debug toggle and view, and the self-test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from memoai import __version__
from memoai.admin import repository as repo
from memoai.admin import schemas as sc
from memoai.admin import workers
from memoai.config import Settings, business_config, get_settings
from memoai.llm.base import ChatRequest, LlmError, Message
from memoai.llm.factory import get_provider
from memoai.models import Evaluation
from memoai.platform import appsettings
from memoai.platform.db import get_engine, ping, session_scope
from memoai.platform.identity import Principal
from memoai.platform.probes import check_broker
from memoai.platform.queue import TaskName, broker_depth, publish

log = structlog.get_logger(__name__)

STARTED = time.monotonic()
PING_TIMEOUT = 5.0
LLM_PROBE_TIMEOUT = 3.0
DEFAULT_BASE_URLS = {"claude": "https://api.anthropic.com", "openai": "https://api.openai.com"}


# ------------------------------------------------------------ debug


def set_debug(admin: Principal, enabled: bool) -> sc.DebugState:
    with session_scope() as db:
        appsettings.set_value(db, appsettings.DEBUG_KEY, enabled, admin.username)
    log.info("admin.debug_toggled", debug_enabled=enabled, by=admin.username)
    return sc.DebugState(debug_enabled=enabled)


def debug_enabled() -> bool:
    with session_scope(write=False) as db:
        return appsettings.debug_enabled(db)


def _num(timings: dict[str, Any], key: str) -> float | None:
    value = timings.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _debug_row(row: Evaluation) -> sc.DebugEvaluation:
    timings = row.timings if isinstance(row.timings, dict) else {}
    queue_wait = row.queue_wait if row.queue_wait is not None else _num(timings, "queue_wait")
    total = None
    if row.processing_time is not None:
        total = round(row.processing_time + (queue_wait or 0.0), 4)
    return sc.DebugEvaluation(
        id=row.id,
        created_at=row.created_at,
        status=row.status,
        llm_provider=row.llm_provider,
        llm_model=row.llm_model,
        config_version=row.config_version,
        prompt_version=row.prompt_version,
        error_code=row.error_code,
        attempts=row.attempts or 0,
        timings=sc.Timings(
            queue_wait=queue_wait,
            llm=row.llm_time if row.llm_time is not None else _num(timings, "llm"),
            parse=_num(timings, "parse"),
            save=_num(timings, "save"),
            total=total,
        ),
        timings_detail=timings or None,
        tokens=sc.Tokens(
            input=row.input_tokens,
            output=row.output_tokens,
            cache_read=row.cache_read_tokens,
            cache_write=row.cache_creation_tokens,
        ),
        cost=row.cost_usd,
        raw_prompt=row.raw_prompt,
        raw_response=row.raw_response,
    )


def debug_info(limit: int, evaluation_id: str | None) -> sc.DebugInfo:
    with session_scope(write=False) as db:
        enabled = appsettings.debug_enabled(db)
        rows = repo.recent_evaluations(db, limit=limit, evaluation_id=evaluation_id)
        items = [_debug_row(r) for r in rows]
    return sc.DebugInfo(
        debug_enabled=enabled,
        evaluations=items,
        limit=limit,
        max_attempts=get_settings().backend.evaluation.max_attempts,
    )


# ------------------------------------------------------------ status


_probe_cache: dict[str, tuple[float, tuple[bool, str | None]]] = {}
PROBE_CACHE_SECONDS = 30.0


def _llm_probe(settings: Settings) -> tuple[bool, str | None]:
    """Can this process open an HTTP connection to the provider? (No tokens spent.)

    Cached briefly: a status page polled every few seconds must not wait on, or
    hammer, a provider that is slow to answer.
    """
    key = f"{settings.llm_provider}|{settings.llm.provider.base_url}"
    hit = _probe_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < PROBE_CACHE_SECONDS:
        return hit[1]
    result = _probe(settings)
    _probe_cache[key] = (time.monotonic(), result)
    return result


def _probe(settings: Settings) -> tuple[bool, str | None]:
    provider = settings.llm_provider
    if provider == "offline":
        return True, "offline"
    base = settings.llm.provider.base_url or DEFAULT_BASE_URLS.get(provider, "")
    if not base:
        return False, "no base URL"
    try:
        # Any HTTP answer, even 404 or 401, proves the endpoint is reachable.
        response = httpx.get(base.rstrip("/") + "/v1/models", timeout=LLM_PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return True, f"HTTP {response.status_code}"


def status(settings: Settings) -> sc.Status:
    started = time.perf_counter()
    try:
        ping()
        db_ok = True
    except Exception:  # noqa: BLE001 - reported, not raised
        db_ok = False
    db_latency = (time.perf_counter() - started) * 1000
    broker = check_broker(settings)
    depth = broker_depth(settings) if broker.ok else None
    reachable, detail = _llm_probe(settings)
    return sc.Status(
        database=sc.DatabaseStatus(
            ok=db_ok,
            backend="sqlite" if settings.is_sqlite else "postgresql",
            latency_ms=round(db_latency, 2),
        ),
        broker=sc.BrokerStatus(
            ok=broker.ok,
            backend="embedded" if settings.uses_embedded_broker else "redis",
            queue_depth=depth,
        ),
        workers=workers.live_workers() if db_ok else [],
        llm=sc.LlmStatus(
            provider=settings.llm_provider,
            model=settings.llm.provider.model,
            reachable=reachable,
            detail=detail,
        ),
        version=__version__,
        uptime_seconds=round(time.monotonic() - STARTED, 1),
        debug_enabled=debug_enabled() if db_ok else False,
        config_version=business_config().version,
    )


# ------------------------------------------------------------ self-test


def _run(name: str, fn: Callable[[], str | None]) -> sc.Check:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # noqa: BLE001 - every failure is a result, not an error
        ok = False
        detail = _describe(exc)
    return sc.Check(
        name=name,
        ok=ok,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        detail=detail,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, LlmError):
        return f"{exc.code}: {exc.message}"
    message = str(exc)
    # Only the exception type for unknown errors: a driver message may hold a URL.
    return message if isinstance(exc, SelfTestFailed) else type(exc).__name__


class SelfTestFailed(Exception):
    pass


def _database_check() -> str:
    token = uuid.uuid4().hex
    key = f"selftest:{token}"
    with session_scope() as db:
        repo.put_setting(db, key, {"token": token})
    try:
        with session_scope(write=False) as db:
            value = repo.get_setting(db, key)
        if not isinstance(value, dict) or value.get("token") != token:
            raise SelfTestFailed("the row written was not read back")
    finally:
        with session_scope() as db:
            repo.delete_settings(db, key)
    return f"write and read back on {get_engine().dialect.name}"


def _broker_check(timeout: float) -> Callable[[], str]:
    def check() -> str:
        if not any(w.alive for w in workers.live_workers()):
            # Nobody would answer: say so now instead of waiting out the timeout.
            raise SelfTestFailed("no live worker (no heartbeat); ping not sent")
        token = uuid.uuid4().hex
        if not publish(TaskName.PING, token=token):
            raise SelfTestFailed("the broker refused the message")
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                answer = workers.ping_answer(token)
                if answer is not None:
                    return f"answered by {answer.get('worker')}"
                time.sleep(0.1)
        finally:
            workers.clear_ping(token)
        raise SelfTestFailed(f"no worker answered within {timeout:g} s")

    return check


def _llm_check(settings: Settings) -> str:
    if settings.llm_provider == "offline":
        return "offline"
    provider: Any = get_provider(settings)
    reply = provider.chat(
        ChatRequest(
            system="Connectivity check. Reply with one word.",
            messages=[Message(role="user", content="ping")],
            max_tokens=8,
            temperature=0.0,
        )
    )
    return f"{provider.name} {reply.model} answered in {reply.latency * 1000:.0f} ms"


def _log_check(request_token: str) -> str:
    log.info("admin.self_test", token=request_token)
    return "admin.self_test written"


def self_test(
    settings: Settings, admin: Principal, *, ping_timeout: float = PING_TIMEOUT
) -> sc.SelfTest:
    token = uuid.uuid4().hex[:12]
    checks = [
        _run("api", lambda: f"version {__version__}"),
        _run("database", _database_check),
        _run("broker", _broker_check(ping_timeout)),
        _run("llm", lambda: _llm_check(settings)),
        _run("log", lambda: _log_check(token)),
    ]
    ok = all(c.ok for c in checks)
    log.info(
        "admin.self_test_finished",
        ok=ok,
        by=admin.username,
        failed=[c.name for c in checks if not c.ok],
    )
    return sc.SelfTest(ok=ok, checks=checks)
