"""/docs and /redoc from the npm packages: the pages reference only this
origin, the files they name answer with JavaScript and CSS, the inline
bootstrap script is allowed by hash alone, and without the packages the pages
say what is missing instead of failing."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from memoai.config import load_settings
from memoai_api import docs as api_docs
from memoai_api.app import create_app
from tests.support.services import unavailable

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"


@pytest.fixture
def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., TestClient]:
    def make(node_modules: Path = NODE_MODULES, **env: str) -> TestClient:
        monkeypatch.setattr(api_docs, "_node_modules", lambda: node_modules)
        settings = load_settings(
            {"CONFIG_DIR": str(REPO / "config"), "DATA_DIR": str(tmp_path / "data"), **env}
        )
        return TestClient(create_app(settings))  # no lifespan: the docs need no database

    return make


def _installed() -> None:
    if api_docs.DocsAssets(NODE_MODULES).missing(*api_docs.FILES):
        unavailable("swagger-ui-dist and redoc", "make install runs npm ci")


def _references(page: str) -> list[str]:
    return re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", page) + re.findall(
        r"""url:\s*'([^']+)'""", page
    )


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        ("/docs", {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}),
        ("/redoc", {"redoc.standalone.js": "text/javascript"}),
    ],
)
def test_docs_pages_load_only_local_files_and_those_answer(
    make_client: Callable[..., TestClient], path: str, kinds: dict[str, str]
) -> None:
    _installed()
    client = make_client()
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    refs = _references(page.text)
    assert refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref  # this origin only
    assert "http://" not in page.text and "https://" not in page.text
    assert "/openapi.json" in refs
    for name, kind in kinds.items():
        (url,) = [r for r in refs if r.endswith("/" + name)]
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(kind)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-encoding"] == "gzip"
        package, rel = api_docs.FILES[name]
        assert response.content == (NODE_MODULES / package / rel).read_bytes()
    (favicon,) = [r for r in refs if r.endswith("/favicon.png")]
    assert client.get(favicon).headers["content-type"] == "image/png"


def test_the_swagger_page_allows_its_inline_script_by_hash_and_no_other_origin(
    make_client: Callable[..., TestClient],
) -> None:
    _installed()
    response = make_client().get("/docs")
    policy = response.headers["content-security-policy"]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    (inline,) = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in script_src
    assert "http" not in policy  # no CDN anywhere in the policy
    assert "frame-ancestors 'none'" in policy


def test_without_the_npm_packages_the_docs_say_what_is_missing(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(tmp_path / "no-node-modules")
    for path, package in (("/docs", "swagger-ui-dist"), ("/redoc", "redoc")):
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert package in response.text and "make install" in response.text
        assert 'href="/openapi.json"' in response.text
    assets = api_docs.DocsAssets(tmp_path / "no-node-modules")
    assert client.get(assets.url("swagger-ui-bundle.js")).status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_unknown_or_outdated_asset_urls_are_not_found(
    make_client: Callable[..., TestClient],
) -> None:
    _installed()
    client = make_client()
    assets = api_docs.DocsAssets(NODE_MODULES)
    assert client.get(assets.url("package.json")).status_code == 404
    assert client.get(assets.url("..%2Fpackage.json")).status_code == 404
    assert client.get(f"{api_docs.ASSET_PATH}/000000000000/swagger-ui.css").status_code == 404


def test_docs_are_off_when_interactive_docs_are_disabled(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(ENABLE_DOCS="false")
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
