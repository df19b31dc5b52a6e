"""Schema of ``backend.yaml``: the API, workers, evaluation, queue and file serving.

Owns the API limits, middleware and worker switches, the evaluation and
Celery queue settings with the timeout chain they must respect (evaluation
deadline < task soft limit < task hard limit < visibility timeout; all of it
is in this one file, so the checks live on ``QueueSettings`` and ``Backend``),
temporary file serving, the rate-limit store, and config hot-reload.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from memoai.config.schemas.common import (
    ByteSize,
    OptStr,
    PosFloat,
    PosInt,
    Strict,
    StrList,
    parse_list,
)


def _proxy_addresses(values: list[str]) -> list[str]:
    for value in values:
        if value == "*":
            continue
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP address or network (CIDR)") from exc
    if "*" in values and len(values) > 1:
        raise ValueError("'*' trusts every peer; list addresses or '*' alone")
    return values


class ApiSettings(Strict):
    cors_origins: StrList = []
    rate_limit_per_minute: PosInt = 60
    request_timeout: PosFloat = 30
    # Long waits (a POST waiting for the chat reply, an SSE stream) a caller may
    # hold at once in one API process; beyond it a POST answers 202 at once and
    # another stream gets 429.
    max_waits_per_caller: PosInt = 4
    max_request_size: ByteSize = 2 * 1024 * 1024
    # Peers whose X-Forwarded-For/-Proto uvicorn believes (FORWARDED_ALLOW_IPS):
    # the reverse proxy's address or network only. Anyone else who sends the
    # header is ignored, so a client cannot choose its own address.
    forwarded_allow_ips: Annotated[
        list[str],
        BeforeValidator(parse_list),
        AfterValidator(_proxy_addresses),
        Field(min_length=1),
    ] = ["127.0.0.1"]


class Middleware(Strict):
    gzip_compression: bool = True
    request_logging: bool = True
    performance_monitoring: bool = True
    error_tracking: bool = True


class Workers(Strict):
    # "auto": one per usable core on Postgres with Redis (rate limits shared
    # across processes); 1 on SQLite or without Redis (see `memoai api`).
    process_count: PosInt | Literal["auto"] = 1
    thread_count: PosInt = 4
    worker_timeout: PosInt = 30
    max_requests_per_worker: PosInt = 1000


class BackendFeatures(Strict):
    auto_reload: bool = False
    debug_toolbar: bool = False
    debug_mode: bool = False


class EvaluationSettings(Strict):
    async_processing: bool = True
    max_concurrent: PosInt = 5
    timeout_seconds: PosInt = 180  # whole evaluation, retries and repair included
    polling_interval: PosFloat = 2
    # Worker claims of one evaluation (each may cost a model call): a memo that
    # kills its worker every time is failed after this many, not retried for ever.
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3


class QueueSettings(Strict):
    broker_url: OptStr = None
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$")] = "memoai"
    queue_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "memoai"
    worker_pool: Literal["threads", "prefork", "solo", "gevent"] = "threads"
    worker_concurrency: Annotated[int, Field(ge=1, le=1000)] = 16
    task_soft_time_limit: PosInt = 240
    task_time_limit: PosInt = 300
    visibility_timeout: PosInt = 360
    publish_timeout: PosFloat = 2
    embedded_polling_interval: PosFloat = 0.05
    sweep_unpublished_after: PosFloat = 5
    sweep_queued_after: PosFloat = 300
    lease_seconds: Annotated[float, Field(ge=3)] = 30
    sweep_interval: Annotated[float, Field(ge=1)] = 15
    # A chat reply published this long ago and not started is published again.
    chat_republish_after: Annotated[float, Field(ge=1)] = 30
    # A chat reply not started after this long fails (reply_not_started), so the
    # conversation is never blocked for good; the user can retry it.
    chat_pending_timeout: Annotated[float, Field(ge=10)] = 600

    @model_validator(mode="after")
    def _queue_limits(self) -> QueueSettings:
        # A message must not be redelivered while its first run may still be alive.
        if not self.task_soft_time_limit < self.task_time_limit < self.visibility_timeout:
            raise ValueError(
                "need task_soft_time_limit < task_time_limit < visibility_timeout, got "
                f"{self.task_soft_time_limit} / {self.task_time_limit} / {self.visibility_timeout}"
            )
        return self


class FileServing(Strict):
    temporary_storage: OptStr = None
    retention_hours: PosInt = 24
    max_file_size: ByteSize = 52_428_800
    cleanup_interval: PosInt = 3600


class BackendRateLimiting(Strict):
    implementation: Literal["auto", "memory", "redis", "database"] = "auto"
    cleanup_interval: PosInt = 300
    sliding_window: PosInt = 3600


class ConfigManagement(Strict):
    hot_reload_enabled: bool = True
    hot_reload_business_logic: bool = True
    hot_reload_system_configs: bool = False
    reload_check_interval: Annotated[float, Field(ge=0)] = 5
    profiling_enabled: bool = False


class CohortSettings(Strict):
    """Coaches and cohorts: bounds on what coaches and admins may create."""

    max_members: Annotated[int, Field(ge=1, le=5000)] = 200  # coaches and writers per cohort
    max_assignments: Annotated[int, Field(ge=1, le=1000)] = 100  # per cohort
    max_reason_length: Annotated[int, Field(ge=10, le=10_000)] = 1000  # score override reason
    max_comment_length: Annotated[int, Field(ge=10, le=20_000)] = 2000  # coach comment
    # How often beat looks for assignments whose due date passed (assignment.due).
    due_check_interval: Annotated[float, Field(ge=1)] = 60


class Backend(Strict):
    api_settings: ApiSettings = ApiSettings()
    middleware: Middleware = Middleware()
    workers: Workers = Workers()
    features: BackendFeatures = BackendFeatures()
    evaluation: EvaluationSettings = EvaluationSettings()
    queue: QueueSettings = QueueSettings()
    file_serving: FileServing = FileServing()
    rate_limiting: BackendRateLimiting = BackendRateLimiting()
    config_management: ConfigManagement = ConfigManagement()
    cohorts: CohortSettings = CohortSettings()

    @model_validator(mode="after")
    def _evaluation_within_task_limit(self) -> Backend:
        # The evaluation's own deadline must end before Celery's soft limit.
        if self.evaluation.timeout_seconds >= self.queue.task_soft_time_limit:
            raise ValueError(
                f"evaluation.timeout_seconds ({self.evaluation.timeout_seconds}) must be below "
                f"queue.task_soft_time_limit ({self.queue.task_soft_time_limit})"
            )
        return self


class BackendFile(Strict):
    backend: Backend
