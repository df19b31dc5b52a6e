"""The API's interactive docs in a real browser, from the npm packages: Swagger
UI and ReDoc render the OpenAPI document with every request to the API's own
origin and nothing refused by the page's Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from memoai_api import docs as api_docs
from tests.e2e.browser import DESKTOP
from tests.support.services import unavailable
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("path", "title"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", ".api-info h1")],
    ids=["swagger-ui", "redoc"],
)
def test_docs_render_offline_from_the_apis_own_origin(
    browser: Browser, offline_stack: Stack, path: str, title: str
) -> None:
    if api_docs.DocsAssets().missing(*api_docs.FILES):
        unavailable("swagger-ui-dist and redoc", "make install runs npm ci")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    reached: list[str] = []
    refused: list[str] = []
    problems: list[str] = []
    page.on("response", lambda response: reached.append(response.url))
    page.on(
        "requestfailed",
        lambda request: refused.append(request.url) if request.failure == "csp" else None,
    )
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto(offline_stack.api_url + path)
        heading: Any = page.locator(title).first
        expect(heading).to_contain_text("Memo AI Coach API", timeout=20_000)
        # The operations are listed, so the OpenAPI document was fetched and read.
        expect(page.get_by_text("/api/v1/evaluations/submit").first).to_be_attached()
    finally:
        context.close()
    assert reached
    for url in reached:
        # Nothing else was fetched (ReDoc runs its search worker from a blob: URL).
        assert url.startswith((offline_stack.api_url, f"blob:{offline_stack.api_url}")), url
    # ReDoc's sidebar names a logo on its vendor's CDN; the page's policy refuses
    # it before any request leaves (the image then hides itself). Nothing else fails.
    assert all(not url.startswith(offline_stack.api_url) for url in refused)
    unexpected = [p for p in problems if not any(url in p for url in refused)]
    assert unexpected == []
