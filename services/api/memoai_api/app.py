"""The API application factory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from memoai import __version__
from memoai.auth import tokens
from memoai.auth import users as account_service
from memoai.config import Settings, business_config, get_settings, require_production_secrets
from memoai.config.settings import SERVICE_SECRETS
from memoai.documents.schemas import Limits
from memoai.operations import state_metrics
from memoai.platform import gctune
from memoai.platform.asgi import RequestContextMiddleware
from memoai.platform.db import dispose_async_engine
from memoai.platform.httpsecurity import SecurityHeadersMiddleware
from memoai.platform.logging import configure_logging
from memoai.platform.ratelimit import RateLimiter
from memoai.platform.secrets import SecretRedactionMiddleware
from memoai.webhooks import delivery as webhook_delivery
from memoai_api import docs as api_docs
from memoai_api import errors, openapi
from memoai_api import threads as api_threads
from memoai_api.deps import limit_requests_by_ip
from memoai_api.fastpath import StatusFastPath
from memoai_api.routes import (
    API_PREFIX,
    admin_auth,
    admin_config,
    admin_debug,
    admin_sessions,
    admin_status,
    assignments,
    auth,
    batches,
    chat,
    coaching,
    cohorts,
    documents,
    evaluations,
    health,
    public_config,
    reviews,
    rubrics,
    sessions,
    users,
    webhooks,
)
from memoai_api.routes import tokens as api_tokens

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, *, fast_paths: bool = True) -> FastAPI:
    settings = settings or get_settings()
    # Also when uvicorn is started without `memoai api`.
    require_production_secrets(settings, SERVICE_SECRETS["api"])
    configure_logging(settings, "api")
    # Reviews are released here; webhooks hear of it through the cohort event hooks.
    webhook_delivery.subscribe()
    state_metrics.install(database=True, backups=False)
    docs = settings.auth.api_documentation.openapi

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        business_config()  # fail fast on an invalid business file
        # Before the first request: a generated development secret is written
        # now, not by whichever request happens to need it first.
        tokens.signing_key(settings)
        if not settings.authentication.jwt.secret_key:
            log.warning(
                "auth.generated_secret_in_use",
                hint="set JWT_SECRET_KEY (or JWT_SECRET_KEY_FILE); required in production",
            )
        account_service.ensure_bootstrap_admin(settings)
        # Sync routes run in this pool. More threads than CPU work available
        # only adds GIL contention and database-pool waits under load.
        threads = int(os.environ.get("API_THREADS", settings.backend.workers.thread_count))
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        api_threads.configure(threads)
        log.info(
            "api.started",
            version=__version__,
            env=settings.runtime.app_env,
            provider=settings.llm_provider,
            database="sqlite" if settings.is_sqlite else "postgresql",
            broker="embedded" if settings.uses_embedded_broker else "redis",
        )
        gctune.tune_after_startup("api")
        yield
        api_threads.shutdown()
        await dispose_async_engine()  # in this loop, which its connections belong to

    app = FastAPI(
        title=docs.title,
        version=docs.version,
        description=docs.description,
        # Served by memoai_api.docs from npm packages, not FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.limiter = RateLimiter(settings)
    per_ip = [Depends(limit_requests_by_ip)]
    for router in (
        sessions.router,
        auth.router,
        users.router,
        admin_auth.router,
        admin_config.router,
        admin_debug.router,
        admin_sessions.router,
        admin_status.router,
        evaluations.router,
        coaching.router,
        chat.router,
        webhooks.router,
        batches.router,
        documents.router,
        api_tokens.router,
        public_config.router,
        rubrics.router,
        cohorts.router,
        assignments.router,
        reviews.router,
    ):
        app.include_router(router, dependencies=per_ip)
    app.include_router(health.router)  # probes and scrapes are never rate limited
    errors.install(app)
    openapi.install(app, API_PREFIX)
    if docs.interactive_docs:
        api_docs.install(app)

    backend = settings.backend
    if fast_paths:  # off only in tests that compare it with the route it shortcuts
        app.add_middleware(StatusFastPath, api=app)
    # It reads JSON bodies before compression (configure_logging registered
    # this process's secrets).
    app.add_middleware(SecretRedactionMiddleware)
    if backend.middleware.gzip_compression:
        app.add_middleware(GZipMiddleware, minimum_size=1024)
    if backend.api_settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=backend.api_settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Content-Type",
                "X-Session-ID",
                "X-CSRF-Token",
                "X-Request-ID",
                "Authorization",
                "Idempotency-Key",
                "Prefer",
            ],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Preference-Applied",
            ],
        )
    # Every response, including errors, gets a request id and metrics.
    app.add_middleware(
        RequestContextMiddleware,
        service="api",
        max_body=backend.api_settings.max_request_size,
        # Uploaded documents may be larger than any JSON body.
        body_limits={documents.EXTRACT_PATH: Limits.from_settings(settings).request_body},
        access_log=backend.middleware.request_logging,
    )
    # Outermost, so even the 413 that RequestContextMiddleware answers itself has them.
    app.add_middleware(
        SecurityHeadersMiddleware, headers=settings.security.headers, no_store_prefix=API_PREFIX
    )
    return app
