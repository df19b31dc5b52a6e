"""Schemas of ``logging.yaml`` and ``monitoring.yaml``: what the service reports.

Owns the log level, format, console and file outputs, structured fields and
log retention; and the health checks, metrics endpoints, alert thresholds and
alert delivery.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from memoai.config.schemas.common import (
    ByteSize,
    LogLevel,
    OptLogLevel,
    OptStr,
    PosFloat,
    PosInt,
    Strict,
    blank_to_none,
)


class ConsoleOutput(Strict):
    enabled: bool = True
    level: OptLogLevel = None
    format: Annotated[Literal["json", "text"] | None, BeforeValidator(blank_to_none)] = None


class FileOutput(Strict):
    enabled: bool = False
    path: OptStr = None
    level: LogLevel = "INFO"
    max_size: ByteSize = 100 * 1024 * 1024
    max_files: PosInt = 10
    rotation: Literal["daily", "size"] = "daily"


class Outputs(Strict):
    console: ConsoleOutput = ConsoleOutput()
    file: FileOutput = FileOutput()


class Structured(Strict):
    include_timestamp: bool = True
    include_request_id: bool = True
    include_user_session: bool = True
    include_source_location: bool = False


class LogRetention(Strict):
    days: PosInt = 30
    compression: bool = True
    cleanup_interval: PosInt = 86_400


class Logging(Strict):
    level: LogLevel = "INFO"
    format: Literal["json", "text"] = "json"
    outputs: Outputs = Outputs()
    structured: Structured = Structured()
    retention: LogRetention = LogRetention()


class LoggingFile(Strict):
    logging: Logging


class HealthChecks(Strict):
    enabled: bool = True
    interval: PosInt = 30
    timeout: PosFloat = 5
    endpoint: str = "/health"


class Metrics(Strict):
    enabled: bool = True
    endpoint: str = "/metrics"
    collection_interval: PosInt = 60
    retention_days: PosInt = 7
    worker_port: Annotated[int, Field(ge=0, le=65535)] = 9808


class MonitoringPerformance(Strict):
    response_time_threshold: PosFloat = 5000
    error_rate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.05
    cpu_threshold: Annotated[float, Field(gt=0, le=100)] = 80
    memory_threshold: Annotated[float, Field(gt=0, le=100)] = 80
    disk_threshold: Annotated[float, Field(gt=0, le=100)] = 85
    queue_backlog_threshold: PosInt = 100
    llm_failure_rate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.2
    backup_max_age_hours: PosFloat = 26


class Alerting(Strict):
    enabled: bool = False
    webhook_url: OptStr = None
    email_notifications: bool = False
    critical_threshold: Annotated[float, Field(gt=0, le=1)] = 0.1
    notification_cooldown: PosInt = 300


class Monitoring(Strict):
    health_checks: HealthChecks = HealthChecks()
    metrics: Metrics = Metrics()
    performance: MonitoringPerformance = MonitoringPerformance()
    alerting: Alerting = Alerting()


class MonitoringFile(Strict):
    monitoring: Monitoring
