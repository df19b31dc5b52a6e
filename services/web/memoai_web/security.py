"""Security headers on every response the web service itself produces.

The policy allows scripts and styles from this origin only: no inline script,
no eval, no inline style attribute. Data for the modules travels in a
`<script type="application/json">` block, which the policy does not execute.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoai.config.schemas import Headers as HeadersConfig

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def security_headers(cfg: HeadersConfig) -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", cfg.x_content_type_options),
        ("X-Frame-Options", cfg.x_frame_options),
        ("Referrer-Policy", cfg.referrer_policy),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if cfg.content_security_policy:
        headers.append(("Content-Security-Policy", CSP))
    if cfg.https_only and cfg.hsts_enabled:
        headers.append(("Strict-Transport-Security", f"max-age={cfg.hsts_max_age}"))
    return headers


class SecurityHeadersMiddleware:
    """Adds the headers unless the response already set them (the API's own, when proxied)."""

    def __init__(self, app: ASGIApp, *, cfg: HeadersConfig) -> None:
        self.app = app
        self.headers = security_headers(cfg)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
