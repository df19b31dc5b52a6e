"""The coaching parts of the page as the web service serves them: the Coach tab
in its place, the feature buttons, the range picker, and the event stream
passing through the development proxy."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient

from memoai_web.assets import STATIC_DIR
from tests.unit.web.test_web_service import (  # noqa: F401 - fixtures
    config_dir,
    make_client,
)


def test_the_coach_tab_comes_after_detailed_with_its_panel(
    make_client: Callable[..., TestClient],  # noqa: F811
) -> None:
    page = make_client().get("/").text
    tabs = re.findall(r'data-tab="(\w+)"', page)
    assert tabs[:5] == ["write", "overall", "detailed", "coach", "progress"]
    assert 'id="panel-coach"' in page and 'id="heading-coach"' in page
    assert re.search(r'<label class="label" for="coach-input">', page)
    assert 'data-feature="chat"' in page and 'data-feature="pdf"' in page
    ranges = re.findall(r'data-range="(\w+)" aria-pressed="(\w+)"', page)
    assert ranges == [("week", "false"), ("month", "false"), ("quarter", "false"), ("all", "true")]


def test_spanish_page_has_the_coach_strings(make_client: Callable[..., TestClient]) -> None:  # noqa: F811
    page = make_client(UI_LANGUAGE="es").get("/").text
    assert "Habla con tu coach" in page
    assert "Últimos 7 días" in page


def test_the_reply_stream_passes_through_the_proxy_as_events(
    make_client: Callable[..., TestClient],  # noqa: F811
) -> None:
    body = b'retry: 2000\n\nevent: delta\ndata: {"text": "Hel"}\n\nevent: done\ndata: {}\n\n'

    def upstream(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/messages/m1/stream")
        return httpx.Response(
            200,
            stream=httpx.ByteStream(body),
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
        )

    response = make_client(upstream).get("/api/v1/chat/sessions/c1/messages/m1/stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == body


def test_coaching_modules_build_the_dom_without_markup_strings() -> None:
    for name in ("tabs/coach.js", "core/charts.js", "tabs/progress.js", "tabs/overall.js"):
        source = (STATIC_DIR / "js" / name).read_text()
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source, name
        assert "outerHTML" not in source, name
