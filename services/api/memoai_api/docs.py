"""The interactive API docs, /docs (Swagger UI) and /redoc (ReDoc), with no CDN.

FastAPI's pages load their scripts from jsDelivr by default, which fails on a
machine without internet and makes every visit a third-party request. The
same files come from the npm packages instead (`swagger-ui-dist` and `redoc`,
pinned in package.json; `make install` and the API image install them) and are
served here under a URL that carries the packages' versions, so browsers may
cache them for a year. They are read and compressed on first use, not at
start-up: the ReDoc bundle alone is 1 MB, and most API processes never serve it.

Without the packages the pages still answer, with a short page that says what
is missing and where the OpenAPI document is, never a 500. Each page allows
only its own inline bootstrap script, by hash, on top of this origin's files.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSET_PATH = "/docs/assets"
IMMUTABLE = "public, max-age=31536000, immutable"
# URL name -> (npm package, file inside it).
FILES: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui-dist", "swagger-ui-bundle.js"),
    "swagger-ui.css": ("swagger-ui-dist", "swagger-ui.css"),
    "favicon.png": ("swagger-ui-dist", "favicon-32x32.png"),
    "redoc.standalone.js": ("redoc", "bundles/redoc.standalone.js"),
}
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _node_modules() -> Path:
    """Beside the repository (a checkout), else in the working directory (an image's /app)."""
    candidates = [Path(__file__).resolve().parents[3] / "node_modules", Path.cwd() / "node_modules"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


@dataclass(frozen=True)
class _File:
    body: bytes
    gzipped: bytes | None
    media_type: str


class DocsAssets:
    """The docs pages' files from node_modules, loaded once on first request."""

    def __init__(self, node_modules: Path | None = None) -> None:
        self.root = node_modules or _node_modules()
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}

    def missing(self, *names: str) -> list[str]:
        """The npm files (package/path) of `names` that are not installed."""
        return [
            f"{FILES[n][0]}/{FILES[n][1]}"
            for n in names
            if not (self.root / FILES[n][0] / FILES[n][1]).is_file()
        ]

    @cached_property
    def version(self) -> str:
        """The installed versions of both packages, as one short URL segment."""
        versions = []
        for package in sorted({package for package, _ in FILES.values()}):
            try:
                meta = json.loads((self.root / package / "package.json").read_text("utf-8"))
                versions.append(f"{package}@{meta.get('version', '?')}")
            except (OSError, ValueError):
                versions.append(f"{package}@missing")
        return hashlib.sha256(" ".join(versions).encode()).hexdigest()[:12]

    def url(self, name: str) -> str:
        return f"{ASSET_PATH}/{self.version}/{name}"

    def get(self, name: str) -> _File | None:
        if name not in FILES:
            return None
        with self._lock:
            cached = self._files.get(name)
            if cached is None:
                package, rel = FILES[name]
                try:
                    body = (self.root / package / rel).read_bytes()
                except OSError:
                    return None
                suffix = Path(rel).suffix
                packed = gzip.compress(body, 6, mtime=0) if suffix in (".js", ".css") else None
                cached = self._files[name] = _File(body, packed, _TYPES[suffix])
            return cached


def _page_policy(page: str) -> str:
    """This origin's files, plus the page's own inline scripts by hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(page)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {hashes}".rstrip(),
            # Both UIs set inline styles from their scripts.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",  # ReDoc's search index runs in a worker
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def _with_policy(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = _page_policy(bytes(response.body).decode())
    return response


def _unavailable(title: str, missing: list[str], openapi_url: str) -> HTMLResponse:
    items = "".join(f"<li><code>{html.escape(m)}</code></li>" for m in missing)
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body>
<h1>{html.escape(title)}</h1>
<p>The interactive documentation needs files from npm that this server does not have:</p>
<ul>{items}</ul>
<p>Run <code>make install</code> (it runs <code>npm ci</code>) and restart the API.
The API itself works, and its OpenAPI document is at
<a href="{html.escape(openapi_url)}">{html.escape(openapi_url)}</a>.</p>
</body></html>
"""
    # 503: the page exists but cannot work on this server yet; retrying after
    # the install will. Not a 500: nothing failed unexpectedly.
    return _with_policy(HTMLResponse(body, status_code=503))


def install(app: FastAPI, assets: DocsAssets | None = None) -> None:
    """Routes for /docs, /redoc and their files (call only when the docs are enabled)."""
    files = assets or DocsAssets()
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        title = f"{app.title} - Swagger UI"
        missing = files.missing("swagger-ui-bundle.js", "swagger-ui.css")
        if missing:
            return _unavailable(title, missing, openapi_url)
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=title,
                swagger_js_url=files.url("swagger-ui-bundle.js"),
                swagger_css_url=files.url("swagger-ui.css"),
                swagger_favicon_url=files.url("favicon.png"),
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        title = f"{app.title} - ReDoc"
        missing = files.missing("redoc.standalone.js")
        if missing:
            return _unavailable(title, missing, openapi_url)
        return _with_policy(
            get_redoc_html(
                openapi_url=openapi_url,
                title=title,
                redoc_js_url=files.url("redoc.standalone.js"),
                redoc_favicon_url=files.url("favicon.png"),
                with_google_fonts=False,
            )
        )

    @app.get(ASSET_PATH + "/{version}/{name}", include_in_schema=False)
    def asset(version: str, name: str, request: Request) -> Response:
        found = files.get(name) if version == files.version else None
        if found is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": IMMUTABLE}
        body = found.body
        if found.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
            if "gzip" in request.headers.get("accept-encoding", ""):
                body = found.gzipped
                headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=found.media_type, headers=headers)
