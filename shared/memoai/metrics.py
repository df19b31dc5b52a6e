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
RATE_LIMITED = Counter(
    "memoai_rate_limited_total", "Requests refused with 429, by limit scope", ["scope"]
)
LOGIN_FAILURES = Counter("memoai_login_failures_total", "Failed login attempts")
ACCOUNT_LOCKOUTS = Counter(
    "memoai_account_lockouts_total", "Accounts locked after too many failed logins"
)
WORKER_UP = Gauge(
    "memoai_worker_up", "1 once the worker consumes from the queue", multiprocess_mode="max"
)
QUEUE_DEPTH = Gauge(
    "memoai_queue_depth", "Evaluations waiting for a worker (queued)", multiprocess_mode="max"
)


def registry() -> CollectorRegistry:
    """The registry to expose: aggregated across processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST
