"""Prometheus metric families shared by every service.

Where a service forks worker processes, set PROMETHEUS_MULTIPROC_DIR and the
client library aggregates across them (see `registry()`).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LONG_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)

HTTP_REQUESTS = Counter(
    "memoai_http_requests_total",
    "HTTP requests by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "memoai_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVALUATIONS = Counter(
    "memoai_evaluations_total", "Evaluations that reached a final state", ["status", "provider"]
)
EVALUATIONS_SUBMITTED = Counter("memoai_evaluations_submitted_total", "Memos submitted")
EVALUATION_DURATION = Histogram(
    "memoai_evaluation_duration_seconds",
    "Processing time of an evaluation (claim to saved)",
    ["provider"],
    buckets=LONG_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "memoai_evaluation_queue_wait_seconds",
    "Time from submit to a worker claiming the evaluation",
    buckets=LONG_BUCKETS,
)
LLM_REQUESTS = Counter(
    "memoai_llm_requests_total",
    "LLM API attempts by outcome (ok, rate_limited, unavailable, timeout, error)",
    ["provider", "model", "outcome"],
)
LLM_LATENCY = Histogram(
    "memoai_llm_request_duration_seconds",
    "LLM API call latency",
    ["provider", "model"],
    buckets=LONG_BUCKETS,
)
LLM_TOKENS = Counter("memoai_llm_tokens_total", "LLM tokens by kind", ["provider", "model", "kind"])
LLM_COST = Counter("memoai_llm_cost_usd_total", "LLM cost in USD", ["provider", "model"])
LLM_PRICE_UNKNOWN = Counter(
    "memoai_llm_price_unknown_total",
    "LLM calls whose model has no price in llm.yaml (their cost is recorded as null)",
    ["provider", "model"],
)
WORKER_UP = Gauge(
    "memoai_worker_up", "1 once the worker consumes from the queue", multiprocess_mode="max"
)
# Security events. The auth and rate-limit code increments these; every label
# value below is created at import so the series exist (at 0) from the first
# scrape, which keeps rate() and the alert rules defined before the first event.
RATE_LIMIT_SCOPES = ("requests", "submissions", "login", "admin", "chat")
RATE_LIMITED = Counter(
    "memoai_rate_limited_total",
    "Requests refused with 429 by the application's rate limiter, by limit scope",
    ["scope"],
)
LOGIN_FAILURE_REASONS = ("bad_credentials", "locked", "inactive", "rate_limited")
LOGIN_FAILURES = Counter(
    "memoai_login_failures_total", "Failed login attempts by reason", ["reason"]
)
ACCOUNT_LOCKOUTS = Counter(
    "memoai_account_lockouts_total", "Accounts locked after too many failed logins"
)
for _scope in RATE_LIMIT_SCOPES:
    RATE_LIMITED.labels(_scope)
for _reason in LOGIN_FAILURE_REASONS:
    LOGIN_FAILURES.labels(_reason)

BACKUPS = Counter(
    "memoai_backups_total", "Backup runs by outcome (ok, failed, skipped)", ["outcome"]
)
BACKUP_DURATION = Histogram(
    "memoai_backup_duration_seconds", "Time to write and verify one backup", buckets=LONG_BUCKETS
)
RETENTION_DELETED = Counter(
    "memoai_retention_deleted_total", "Rows and files removed by retention jobs", ["kind"]
)
for _outcome in ("ok", "failed", "skipped"):
    BACKUPS.labels(_outcome)
RETENTION_KINDS = (
    "sessions",
    "idempotency_keys",
    "submissions",
    "temp_files",
    "log_files",
    "progress_cache",
)
for _kind in RETENTION_KINDS:
    RETENTION_DELETED.labels(_kind)

# Queue depth, active sessions, backup age and disk usage are facts about shared
# state (database, volumes), not about one process: `memoai.operations.state_metrics`
# computes them at scrape time, so they are right whichever process answers.
_scrape_collectors: list[Collector] = []


def add_scrape_collector(collector: Collector) -> None:
    """Expose `collector` from this process's /metrics (idempotent per object)."""
    if collector in _scrape_collectors:
        return
    _scrape_collectors.append(collector)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import REGISTRY

        REGISTRY.register(collector)


def registry() -> CollectorRegistry:
    """The registry to expose: aggregated across processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
        for collector in _scrape_collectors:
            reg.register(collector)
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST
