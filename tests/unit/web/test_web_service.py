"""The web service in process: page, security headers, static files, language
choice, health, metrics and the /api proxy (against an in-memory fake API)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from memoai.config import Settings, load_settings
from memoai_web import i18n
from memoai_web.app import create_app
from memoai_web.assets import STATIC_DIR, Bundle
from memoai_web.pages import Page

REPO = Path(__file__).resolve().parents[3]
WEB = REPO / "services" / "web" / "memoai_web"

Handler = Callable[[httpx.Request], httpx.Response]


def api_response(
    status: int, body: object = None, headers: list[tuple[str, str]] | None = None
) -> httpx.Response:
    """An upstream answer as the network delivers it: a body not yet read."""
    content = json.dumps(body if body is not None else {}).encode()
    headers = [("content-type", "application/json"), *(headers or [])]
    return httpx.Response(status, stream=httpx.ByteStream(content), headers=headers)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    return target


def settings_for(config_dir: Path, **env: str) -> Settings:
    return load_settings(
        {"CONFIG_DIR": str(config_dir), "DATA_DIR": str(config_dir.parent / "data"), **env}
    )


@pytest.fixture
def make_client(config_dir: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(handler: Handler | None = None, **env: str) -> TestClient:
        transport = httpx.MockTransport(handler or (lambda r: httpx.Response(200, json={})))
        client = TestClient(create_app(settings_for(config_dir, **env), upstream=transport))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


# ---------------------------------------------------------------- page and headers


def test_page_has_a_csp_without_inline_scripts_and_every_script_is_external_or_data(
    make_client: Callable[..., TestClient],
) -> None:
    response = make_client().get("/")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-request-id"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.DOTALL)
    assert scripts
    for attrs, body in scripts:
        if 'type="application/json"' in attrs:
            json.loads(body)  # data, not code
        else:
            assert "src=" in attrs and not body.strip()
            # Modules, and the one classic script that sets the theme before first paint.
            assert 'type="module"' in attrs or attrs.strip().endswith('/theme.js"'), attrs
    assert " style=" not in response.text  # the CSP forbids inline style attributes too


def test_boot_data_is_escaped_so_it_cannot_close_its_script_tag(
    make_client: Callable[..., TestClient],
) -> None:
    text = make_client(PAGE_TITLE="</script><script>alert(1)</script>").get("/").text
    boot = re.search(r'<script type="application/json" id="boot">(.*?)</script>', text, re.DOTALL)
    assert boot is not None
    assert "<script>alert(1)" not in text
    assert json.loads(boot.group(1))["frontend"]["ui_settings"]["page_title"].startswith(
        "</script>"
    )


@pytest.mark.parametrize(
    ("configured", "theme"),
    [(None, "system"), ("default", "system"), ("light", "light"), ("dark", "dark")],
)
def test_the_page_starts_in_the_configured_theme_with_a_switch(
    make_client: Callable[..., TestClient], configured: str | None, theme: str
) -> None:
    env = {"UI_THEME": configured} if configured else {}
    page = make_client(**env).get("/").text
    assert f'<html lang="en" data-theme="{theme}">' in page
    pressed = re.findall(r'data-theme-choice="(\w+)" aria-pressed="(\w+)"', page)
    assert pressed == [(m, str(m == theme).lower()) for m in ("light", "dark", "system")]
    # The stored choice is applied by a blocking script in <head>, before <body>.
    assert page.index("/theme.js") < page.index("<body")


def test_hsts_is_sent_only_when_https_is_required(
    make_client: Callable[..., TestClient],
) -> None:
    assert "strict-transport-security" not in make_client().get("/").headers
    secure = make_client(HTTPS_ONLY="true").get("/health").headers
    assert secure["strict-transport-security"].startswith("max-age=")


def test_static_files_are_versioned_compressed_and_cached_for_a_year(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    prefix = Bundle().prefix
    assert f"{prefix}{Bundle().entry}" in client.get("/").text
    for path, kind in (("js/main.js", "text/javascript"), ("css/app.css", "text/css")):
        response = client.get(prefix + path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.content == (STATIC_DIR / path).read_bytes()
        plain = client.get(prefix + path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == (STATIC_DIR / path).read_bytes()
    assert client.head(prefix + "js/main.js").content == b""
    assert client.post(prefix + "js/main.js").status_code == 405
    assert client.get(prefix + "vendor/not-listed.woff2").status_code == 404
    assert client.get("/static/000000000000/js/main.js").status_code == 404
    assert client.get(prefix + "js/main.js").headers["content-security-policy"]


def test_the_bundle_version_changes_with_any_file(tmp_path: Path) -> None:
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    before = Bundle(static, tmp_path / "no-node-modules", tmp_path / "no-build")
    # Without npm: system fonts and unbundled modules, and the page still works.
    assert not before.fonts
    assert not before.bundled
    assert before.entry == "js/main.js" and before.stylesheet == "css/app.css"
    (static / "css" / "app.css").write_text("body { color: red; }")
    after = Bundle(static, tmp_path / "no-node-modules", tmp_path / "no-build")
    assert after.version != before.version


def test_without_a_build_the_page_preloads_every_module(config_dir: Path, tmp_path: Path) -> None:
    plain = Bundle(build_root=tmp_path / "no-build")
    html = Page(settings_for(config_dir), plain).render("en")
    assert f'<script type="module" src="{plain.prefix}js/main.js">' in html
    assert f'<link rel="stylesheet" href="{plain.prefix}css/app.css">' in html
    modules = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("js/**/*.js"))
    assert len(modules) > 10
    for module in modules:
        assert f'rel="modulepreload" href="{plain.prefix}{module}"' in html


# ---------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("configured", "cookie", "accept", "expected"),
    [
        ("auto", None, "es-ES,es;q=0.9,en;q=0.8", "es"),
        ("auto", None, "fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4", "es"),
        ("auto", None, "de-DE", "en"),
        ("auto", None, None, "en"),
        ("auto", None, "en;q=0.2, es;q=0.8", "es"),
        ("auto", None, "es;q=0", "en"),
        ("auto", "en", "es-ES", "en"),
        ("es", None, "en-US", "es"),
        ("es", "en", "en-US", "en"),
        ("en", "xx", "es", "en"),
    ],
)
def test_language_is_the_users_choice_then_the_configured_one_then_the_browsers(
    configured: str, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.negotiate(configured, cookie, accept) == expected


def test_page_renders_in_the_configured_language_whatever_the_browser_says(
    make_client: Callable[..., TestClient],
) -> None:
    page = make_client(UI_LANGUAGE="es").get("/", headers={"Accept-Language": "en-US"}).text
    assert '<html lang="es" data-theme="system">' in page
    assert "Escribe tu memorando" in page
    assert "0 / 10.000 caracteres" in page


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, es = i18n.catalogue("en").strings, i18n.catalogue("es").strings
    assert en.keys() == es.keys()
    for key in en:
        placeholders = set(re.findall(r"\{(\w+)\}", en[key]))
        assert placeholders == set(re.findall(r"\{(\w+)\}", es[key])), key
        assert es[key].strip(), key


def test_every_string_the_templates_and_modules_use_exists() -> None:
    strings = i18n.catalogue("en").strings
    used: set[str] = set()
    for path in [*WEB.joinpath("templates").rglob("*.html"), *STATIC_DIR.rglob("*.js")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-zA-Z][\w.]+)["']\s*[,)]""", path.read_text()))
    # Keys built at run time: tab labels, statuses, FAQ and how-to entries, languages.
    assert used, "the scan found no strings"
    assert sorted(used - strings.keys()) == []
    # Counts: plural("key", n) and t.plural("key", n) need key.one and key.other.
    counted: set[str] = set()
    for path in [*WEB.joinpath("templates").rglob("*.html"), *STATIC_DIR.rglob("*.js")]:
        counted |= set(
            re.findall(r"""\bplural\(\s*["']([a-zA-Z][\w.]+)["']\s*,""", path.read_text())
        )
    assert len(counted) >= 15, counted
    assert sorted(f"{k}.{form}" for k in counted for form in ("one", "other")
                  if f"{k}.{form}" not in strings) == []  # fmt: skip
    for prefix in ("tab.", "status."):
        assert any(key.startswith(prefix) for key in strings)


def test_every_count_has_a_singular_and_a_plural_in_both_languages() -> None:
    for lang in i18n.LANGUAGES:
        strings = i18n.catalogue(lang).strings
        stems = {k.rsplit(".", 1)[0] for k in strings if k.endswith((".one", ".other"))}
        assert len(stems) >= 15
        for stem in stems:
            assert f"{stem}.one" in strings and f"{stem}.other" in strings, (lang, stem)
            assert "{count}" in strings[f"{stem}.one"] and "{count}" in strings[f"{stem}.other"]
        # No "(s)" left to stand in for a plural.
        assert [k for k, v in strings.items() if "(s)" in v or "(es)" in v] == [], lang


def test_counts_read_as_singular_or_plural_on_the_page(
    make_client: Callable[..., TestClient],
) -> None:
    en, es = i18n.catalogue("en"), i18n.catalogue("es")
    assert en.plural("detailed.count", 1) == "1 comment"
    assert en.plural("detailed.count", 2) == "2 comments"
    assert en.plural("detailed.count", 0) == "0 comments"
    assert es.plural("detailed.count", 1) == "1 comentario"
    assert es.plural("detailed.count", 10_000) == "10.000 comentarios"
    page = make_client(UI_LANGUAGE="es").get("/").text
    assert '<option value="30">30 días</option>' in page


def test_thousands_are_grouped_as_the_browser_groups_them() -> None:
    assert i18n.format_int(10_000, "en") == "10,000"
    assert i18n.format_int(10_000, "es") == "10.000"
    assert i18n.format_int(9_999, "es") == "9999"


# ---------------------------------------------------------------- health and metrics


def test_health_and_metrics(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert client.get("/health").json() == {"status": "ok", "service": "web", "version": "0.1.0"}
    client.get("/")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'memoai_http_requests_total{method="GET",route="/",service="web",status="200"}' in (
        metrics.text
    )


def test_ready_reflects_whether_the_api_answers(make_client: Callable[..., TestClient]) -> None:
    up = make_client(lambda r: httpx.Response(200, json={"status": "ready"}))
    assert up.get("/health/ready").status_code == 200

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    response = make_client(down).get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["api"]["ok"] is False


# ---------------------------------------------------------------- the /api proxy


def test_proxy_forwards_method_path_query_body_cookies_and_request_id(
    make_client: Callable[..., TestClient],
) -> None:
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        request.read()
        return api_response(
            202,
            {"data": {"ok": True}, "meta": {}, "errors": []},
            headers=[
                ("set-cookie", "memoai_session=abc; HttpOnly; Path=/"),
                ("set-cookie", "memoai_csrf_token=xyz; Path=/"),
                ("x-request-id", "from-upstream"),
            ],
        )

    client = make_client(api)
    response = client.post(
        "/api/v1/evaluations/submit?x=1&y=%C3%A9",
        json={"text_content": "Café 😀"},
        headers={"X-Request-ID": "req-123", "Cookie": "memoai_session=old"},
    )
    assert response.status_code == 202
    assert response.json()["data"] == {"ok": True}
    assert response.headers["x-request-id"] == "req-123"
    assert response.headers.get_list("set-cookie") == [
        "memoai_session=abc; HttpOnly; Path=/",
        "memoai_csrf_token=xyz; Path=/",
    ]
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/api/v1/evaluations/submit"
    assert request.url.query == b"x=1&y=%C3%A9"
    assert json.loads(request.content) == {"text_content": "Café 😀"}
    assert request.headers["x-request-id"] == "req-123"
    assert request.headers["cookie"] == "memoai_session=old"
    assert request.headers["x-forwarded-proto"] == "http"


def test_proxy_never_carries_one_browsers_cookies_to_another(
    make_client: Callable[..., TestClient],
) -> None:
    cookies: list[str | None] = []

    def api(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return api_response(201, headers=[("set-cookie", "memoai_session=secret; Path=/")])

    client = make_client(api)
    client.post("/api/v1/sessions")
    client.cookies.clear()  # a different browser: no cookie of its own
    client.get("/api/v1/evaluations")
    assert cookies == [None, None]


@pytest.mark.parametrize(
    ("status", "headers"),
    [(425, {"retry-after": "1"}), (429, {"retry-after": "30"}), (404, {}), (500, {})],
)
def test_proxy_passes_error_statuses_and_their_headers(
    make_client: Callable[..., TestClient], status: int, headers: dict[str, str]
) -> None:
    client = make_client(
        lambda r: api_response(status, {"errors": []}, headers=list(headers.items()))
    )
    response = client.get("/api/v1/evaluations/x")
    assert response.status_code == status
    for name, value in headers.items():
        assert response.headers[name] == value


def test_proxy_streams_without_buffering_the_body(make_client: Callable[..., TestClient]) -> None:
    chunks = [b"data: one\n\n", b"data: two\n\n"]
    client = make_client(
        lambda r: httpx.Response(
            200,
            stream=httpx.ByteStream(b"".join(chunks)),
            headers={"content-type": "text/event-stream"},
        )
    )
    with client.stream("GET", "/api/v1/chat/stream") as response:
        assert b"".join(response.iter_bytes()) == b"".join(chunks)
        assert response.headers["content-type"] == "text/event-stream"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (httpx.ConnectError("refused"), 502, "upstream_unavailable"),
        (httpx.ReadTimeout("slow"), 504, "upstream_timeout"),
    ],
)
def test_proxy_answers_in_the_envelope_when_the_api_is_down_or_slow(
    make_client: Callable[..., TestClient], error: Exception, status: int, code: str
) -> None:
    def api(request: httpx.Request) -> httpx.Response:
        raise error

    response = make_client(api).get("/api/v1/config/public", headers={"X-Request-ID": "r-1"})
    assert response.status_code == status
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["code"] == code
    assert body["meta"]["request_id"] == "r-1"


def test_proxy_lets_document_uploads_past_the_json_body_limit_and_no_further(
    make_client: Callable[..., TestClient],
) -> None:
    sizes: list[int] = []

    def api(request: httpx.Request) -> httpx.Response:
        sizes.append(len(request.read()))
        return api_response(200, {"data": {}, "meta": {}, "errors": []})

    client = make_client(api)
    three_mb = b"a" * (3 * 1024 * 1024)
    upload = client.post("/api/v1/documents/extract", files={"file": ("m.txt", three_mb)})
    assert upload.status_code == 200
    assert sizes and sizes[0] > len(three_mb)  # the whole multipart body reached the API
    json_body = client.post(
        "/api/v1/evaluations/submit", content=three_mb, headers={"Content-Type": "text/plain"}
    )
    assert json_body.status_code == 413  # max_request_size (2 MB) everywhere else
    too_big = client.post(
        "/api/v1/documents/extract", files={"file": ("m.txt", b"a" * (6 * 1024 * 1024))}
    )
    assert too_big.status_code == 413
    assert len(sizes) == 1
