"""GET /examples and /examples/{name} on the web service: the memos of examples/memos."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from memoai.config import load_settings
from memoai_web import examples
from memoai_web.app import create_app
from tests.support.stack import MEMOS, REPO


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    config_dir = tmp_path / "config"
    shutil.copytree(REPO / "config", config_dir)
    settings = load_settings({"CONFIG_DIR": str(config_dir), "DATA_DIR": str(tmp_path / "data")})
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={}))
    with TestClient(create_app(settings, upstream=transport)) as c:
        yield c


def test_the_list_names_every_manifest_memo_with_its_level_and_language(
    client: TestClient,
) -> None:
    response = client.get("/examples")
    assert response.status_code == 200
    manifest = json.loads((MEMOS / "manifest.json").read_text())
    listed = response.json()["examples"]
    assert [e["name"] for e in listed] == [Path(m["file"]).stem for m in manifest]
    assert [(e["level"], e["language"]) for e in listed] == [
        (m["level"], m["language"]) for m in manifest
    ]
    assert all("text" not in e and "_path" not in e for e in listed)
    # Every level the menu offers has at least one English memo to fall back on.
    for level in examples.LEVELS:
        assert any(e["level"] == level and e["language"] == "en" for e in listed), level


def test_one_example_is_served_with_its_text_verbatim(client: TestClient) -> None:
    response = client.get("/examples/strong_03_es_cribado_retinopatia_ia")
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "es" and body["level"] == "strong"
    assert body["text"] == (MEMOS / "strong_03_es_cribado_retinopatia_ia.txt").read_text("utf-8")
    assert "max-age" in response.headers["cache-control"]
    # The page's security headers apply here too.
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "name",
    ["nope", "manifest", "..%2F..%2Fconfig%2Fauth.yaml", "strong_01_en_hf_remote_monitoring.txt"],
)
def test_only_names_from_the_manifest_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/examples/{name}")
    assert response.status_code == 404
    assert "text" not in response.text


def test_the_repository_copy_is_found_in_a_checkout() -> None:
    # An editable install reads examples/memos itself: there is no second copy.
    assert examples.memos_dir() == MEMOS
