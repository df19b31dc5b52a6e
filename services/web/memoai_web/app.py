"""The web service: the app's page, its static files, /health, /metrics and,
in development, the /api proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jinja2
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from memoai import __version__, metrics
from memoai.asgi import RequestContextMiddleware
from memoai.config import Settings, get_settings
from memoai.logging import configure_logging

from memoai_web import i18n
from memoai_web.assets import (
    STATIC_DIR,
    VersionedStatic,
    bundle_version,
    modules,
    vendor_available,
)
from memoai_web.proxy import ApiProxy
from memoai_web.security import SecurityHeadersMiddleware
from memoai_web.tabs import DEFAULT_TAB, TABS

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1"
_TEMPLATES = Path(__file__).parent / "templates"


def create_app(
    settings: Settings | None = None, *, upstream: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """`upstream` replaces the network transport to the API (tests)."""
    settings = settings or get_settings()
    configure_logging(settings, "web")
    frontend = settings.frontend
    proxy = ApiProxy(
        settings.runtime.api_url, timeout=frontend.performance.api_timeout, transport=upstream
    )
    version = bundle_version()
    static_base = f"/static/{version}"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = env.get_template("index.html")
    preload = [f"{static_base}/{path}" for path in modules()]
    fonts = vendor_available()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("web.started", version=__version__, api_url=settings.runtime.api_url)
        yield
        await proxy.aclose()

    app = FastAPI(
        title="Memo AI Coach web",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.mount(static_base, VersionedStatic(directory=STATIC_DIR), name="static")

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        lang = i18n.negotiate(
            frontend.ui_settings.language,
            request.cookies.get(i18n.LANG_COOKIE),
            request.headers.get("accept-language"),
        )
        t = i18n.catalogue(lang)
        boot: dict[str, Any] = {
            "lang": lang,
            "strings": t.strings,
            "api": API_PREFIX,
            "static": static_base,
            "defaultTab": DEFAULT_TAB,
            "tabs": [{"id": tab.id, "when": tab.when} for tab in TABS],
            "maxLength": settings.security.input_validation.max_text_length,
            "authEnabled": settings.authentication.enabled,
            "langCookie": i18n.LANG_COOKIE,
            "csrfCookie": settings.security.csrf_protection.cookie_name,
            "frontend": frontend.model_dump(),
        }
        html = page.render(
            t=t,
            lang=lang,
            languages=i18n.LANGUAGES,
            title=frontend.ui_settings.page_title,
            tabs=TABS,
            static=static_base,
            preload=preload,
            boot=boot,
            max_length=i18n.format_int(boot["maxLength"], lang),
            fonts=fonts,
            tooltips=frontend.features.help_tooltips_enabled,
        )
        # The page names the versioned assets; it must be revalidated, they need not be.
        return HTMLResponse(
            html, headers={"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie"}
        )

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": "web", "version": __version__}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        """Readiness: the API behind /api answers its own readiness check."""
        try:
            upstream_status = (await proxy.client.get("/health/ready", timeout=2.0)).status_code
        except httpx.HTTPError:
            upstream_status = None
        ok = upstream_status == 200
        body = {
            "status": "ready" if ok else "degraded",
            "service": "web",
            "version": __version__,
            "checks": {"api": {"ok": ok, "status": upstream_status}},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    app.add_api_route(
        "/api/{path:path}",
        proxy,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"],
        include_in_schema=False,
    )

    # Proxied responses keep the API's own encoding: GZip skips a response that has one.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeadersMiddleware, cfg=settings.security.headers)
    app.add_middleware(
        RequestContextMiddleware,
        service="web",
        max_body=settings.backend.api_settings.max_request_size,
        access_log=settings.backend.middleware.request_logging,
    )
    return app
