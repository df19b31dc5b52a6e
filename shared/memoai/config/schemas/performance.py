"""Schema of ``performance.yaml``: caching, connection pools, optimisation and limits."""

from __future__ import annotations

from typing import Literal

from memoai.config.schemas.common import ByteSize, PosFloat, PosInt, Strict


class Caching(Strict):
    enabled: bool = True
    backend: Literal["memory", "redis"] = "memory"
    ttl: PosInt = 3600
    max_size: PosInt = 1000
    progress_cache_ttl: PosInt = 3600


class ConnectionPooling(Strict):
    database_pool_size: PosInt = 20
    llm_pool_size: PosInt = 10
    http_pool_size: PosInt = 100
    connection_timeout: PosFloat = 30


class Optimization(Strict):
    lazy_loading: bool = True
    compression: bool = True
    static_file_caching: bool = True
    asset_minification: bool = True


class Limits(Strict):
    max_concurrent_requests: PosInt = 100
    max_request_size: ByteSize = 2 * 1024 * 1024
    timeout_seconds: PosFloat = 30
    max_file_uploads: PosInt = 10


class Performance(Strict):
    caching: Caching = Caching()
    connection_pooling: ConnectionPooling = ConnectionPooling()
    optimization: Optimization = Optimization()
    limits: Limits = Limits()


class PerformanceFile(Strict):
    performance: Performance
