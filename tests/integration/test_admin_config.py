"""Configuration management in-process (the real app on a temporary SQLite database):
validation, versioned atomic saves, rollback, bulk export/import, the auth form,
and that odd input gets a clear 4xx with the file on disk untouched."""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from memoai.config import FILE_SCHEMAS
from memoai.models import ConfigVersion
from memoai.platform.db import session_scope
from tests.integration.conftest import reset_process_state
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET, USER_PASSWORD
from tests.support.services import postgres_database

pytestmark = pytest.mark.integration

API = "/api/v1"


@contextmanager
def admin_app(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[TestClient]:
    """The API in process with a bootstrap admin (fast bcrypt) and `env` on top."""
    base = {
        "JWT_SECRET_KEY": JWT_SECRET,
        "ADMIN_USERNAME": ADMIN_USERNAME,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BCRYPT_ROUNDS": "4",
    }
    for name, value in {**base, **env}.items():
        monkeypatch.setenv(name, value)
    reset_process_state()
    from memoai_api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with admin_app(monkeypatch, AUTH_ENABLED="true") as c:
        yield c


def _bearer(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # header auth only
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return _bearer(client, ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
def config_dir(app_env: Path) -> Path:
    return app_env / "config"


def _rubric(config_dir: Path) -> str:
    return (config_dir / "rubric.yaml").read_bytes().decode()


def _renamed(original: str, old: str, new: str) -> str:
    assert old in original
    return original.replace(old, new, 1)


def _save(
    client: TestClient, headers: dict[str, str], name: str, content: str, why: str = "test"
) -> httpx.Response:
    return client.post(
        f"{API}/admin/config/{name}",
        json={"config_content": content, "change_reason": why},
        headers=headers,
    )


def test_categories_cover_the_thirteen_files(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get(f"{API}/admin/config/categories", headers=admin)
    assert response.status_code == 200, response.text
    cats = response.json()["data"]["categories"]
    assert len(cats) == 5
    configs = [c for cat in cats for c in cat["configs"]]
    assert sorted(c["config_type"] for c in configs) == sorted(FILE_SCHEMAS)
    kinds = {c["config_type"]: (c["kind"], c["hot_reload"]) for c in configs}
    assert kinds["rubric"] == ("business", True)
    assert kinds["auth"] == ("system", False)


def test_get_returns_the_exact_bytes(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    data = client.get(f"{API}/admin/config/rubric", headers=admin).json()["data"]
    assert data["content"] == _rubric(config_dir)
    assert data["restart_required"] is False
    assert data["version_number"] is None  # never saved through the API yet


def test_save_records_a_baseline_and_the_change(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    original = _rubric(config_dir)
    changed = _renamed(original, '"Evidence and Data"', '"Evidence"')
    response = _save(client, admin, "rubric", changed, "shorter name")
    assert response.status_code == 200, response.text
    saved = response.json()["data"]
    assert saved["version_number"] == 2
    assert _rubric(config_dir) == changed
    history = client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"]
    versions = history["versions"]
    assert [v["version_number"] for v in versions] == [2, 1]
    assert versions[0]["change_reason"] == "shorter name"
    assert versions[0]["changed_by"] == ADMIN_USERNAME
    assert versions[1]["change_reason"] == "baseline"
    detail = client.get(
        f"{API}/admin/config/rubric/versions/{saved['version_id']}", headers=admin
    ).json()["data"]
    assert detail["content"] == changed
    assert detail["previous_content"] == original
    info = client.get(f"{API}/admin/config/rubric", headers=admin).json()["data"]
    assert info["version_number"] == 2
    assert info["updated_by"] == ADMIN_USERNAME


@pytest.mark.parametrize(
    ("mutate", "field", "line"),
    [
        # Malformed YAML: an unclosed quote; the error names the line.
        (lambda t: t.replace('name: "Evidence and Data"', 'name: "Evidence and Data'), None, True),
        # Weights no longer sum to 100.
        (lambda t: t.replace("weight: 20", "weight: 25", 1), "rubric", True),
        # A required field removed.
        (
            lambda t: t.replace('  name: "Healthcare Investment Memo Rubric"\n', ""),
            "rubric.name",
            True,
        ),
    ],
    ids=["malformed-yaml", "weights-not-100", "missing-field"],
)
def test_invalid_content_is_refused_and_the_file_is_untouched(
    client: TestClient,
    admin: dict[str, str],
    config_dir: Path,
    mutate: Any,
    field: str | None,
    line: bool,
) -> None:
    before = (config_dir / "rubric.yaml").read_bytes()
    bad = mutate(before.decode())
    assert bad != before.decode()
    response = _save(client, admin, "rubric", bad)
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert errors and all(e["code"] == "config_invalid" for e in errors)
    assert errors[0]["details"]["file"] == "rubric.yaml"
    if field is not None:
        assert errors[0]["field"] == field
    if line:
        assert isinstance(errors[0]["details"]["line"], int)
    assert (config_dir / "rubric.yaml").read_bytes() == before
    # validate says the same without writing
    check = client.post(
        f"{API}/admin/config/rubric/validate", json={"config_content": bad}, headers=admin
    ).json()["data"]
    assert check["valid"] is False and check["problems"][0]["file"] == "rubric.yaml"
    history = client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"]
    assert history["versions"] == []


def test_missing_field_error_names_the_line_of_the_criterion(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    text = _rubric(config_dir)
    bad = text.replace("      weight: 20\n", "", 1)  # first criterion loses its weight
    response = _save(client, admin, "rubric", bad)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "rubric.criteria.0.weight"
    first_criterion_line = bad.splitlines().index("    - id: bottom_line") + 1
    assert error["details"]["line"] == first_criterion_line


def test_non_admins_cannot_read_or_write(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    before = (config_dir / "rubric.yaml").read_bytes()
    changed = _renamed(before.decode(), '"Evidence and Data"', '"Evidence"')
    anonymous = _save(client, {}, "rubric", changed)
    assert anonymous.status_code == 401, anonymous.text
    created = client.post(
        f"{API}/users", json={"username": "plain-user", "password": USER_PASSWORD}, headers=admin
    )
    assert created.status_code == 201, created.text
    user = _bearer(client, "plain-user", USER_PASSWORD)
    refused = _save(client, user, "rubric", changed)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "admin_required"
    assert client.get(f"{API}/admin/config/rubric", headers=user).status_code == 403
    assert client.get(f"{API}/admin/config/categories").status_code == 401
    assert (config_dir / "rubric.yaml").read_bytes() == before


def test_rollback_restores_the_exact_earlier_bytes(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    original = (config_dir / "rubric.yaml").read_bytes()
    # CRLF line endings and a trailing comment: the bytes must come back exactly.
    first = original.decode().replace("\n", "\r\n") + "# windows edit\r\n"
    assert _save(client, admin, "rubric", first, "crlf").status_code == 200
    assert (config_dir / "rubric.yaml").read_bytes() == first.encode()
    second = _renamed(original.decode(), '"Financial Case"', '"Money"')
    assert _save(client, admin, "rubric", second, "rename").status_code == 200
    versions = client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"][
        "versions"
    ]
    assert [v["version_number"] for v in versions] == [3, 2, 1]
    by_number = {v["version_number"]: v["version_id"] for v in versions}

    back = client.post(
        f"{API}/admin/config/rubric/rollback", json={"version_id": by_number[2]}, headers=admin
    )
    assert back.status_code == 200, back.text
    assert back.json()["data"]["version_number"] == 4
    assert (config_dir / "rubric.yaml").read_bytes() == first.encode()

    to_original = client.post(
        f"{API}/admin/config/rubric/rollback",
        json={"version_id": by_number[1], "change_reason": "as shipped"},
        headers=admin,
    )
    assert to_original.status_code == 200
    assert (config_dir / "rubric.yaml").read_bytes() == original
    newest = client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"][
        "versions"
    ][0]
    assert newest["version_number"] == 5
    assert newest["action"] == "rollback"
    assert newest["change_reason"] == "as shipped"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _import(
    client: TestClient, headers: dict[str, str], data: bytes, validate_only: bool
) -> httpx.Response:
    return client.post(
        f"{API}/admin/config/bulk-import",
        params={"validate_only": str(validate_only).lower()},
        files={"file": ("config.zip", data, "application/zip")},
        headers=headers,
    )


def _snapshot(config_dir: Path) -> dict[str, bytes]:
    return {f"{t}.yaml": (config_dir / f"{t}.yaml").read_bytes() for t in FILE_SCHEMAS}


def test_export_then_import_round_trips_all_thirteen_files(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    exported = client.get(f"{API}/admin/config/bulk-export", headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    files = _unzip(exported.content)
    assert files == _snapshot(config_dir)
    assert len(files) == 13

    # Change three files, then import the export: everything is back, byte for byte.
    rubric = files["rubric.yaml"].decode()
    assert (
        _save(
            client, admin, "rubric", _renamed(rubric, '"Evidence and Data"', '"Data"')
        ).status_code
        == 200
    )
    llm = files["llm.yaml"].decode() + "# tweak\n"
    assert _save(client, admin, "llm", llm).status_code == 200
    ctx = files["context.yaml"].decode() + "\n# note\n"
    assert _save(client, admin, "context", ctx).status_code == 200
    assert _snapshot(config_dir) != files

    result = _import(client, admin, exported.content, validate_only=False)
    assert result.status_code == 200, result.text
    data = result.json()["data"]
    assert data["valid"] is True and data["applied"] is True
    assert {t for t, r in data["results"].items() if r["changed"]} == {"rubric", "llm", "context"}
    assert _snapshot(config_dir) == files
    newest = client.get(f"{API}/admin/config/llm/history", headers=admin).json()["data"][
        "versions"
    ][0]
    assert newest["action"] == "import"


def test_validate_only_import_writes_nothing(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    before = _snapshot(config_dir)
    upload = dict(before)
    upload["rubric.yaml"] = _renamed(
        before["rubric.yaml"].decode(), '"Evidence and Data"', '"Data"'
    ).encode()
    result = _import(client, admin, _zip(upload), validate_only=True)
    assert result.status_code == 200
    data = result.json()["data"]
    assert data["valid"] is True and data["applied"] is False
    assert data["results"]["rubric"]["changed"] is True
    assert _snapshot(config_dir) == before
    assert (
        client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"]["versions"]
        == []
    )


def test_import_with_one_invalid_file_writes_nothing(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    before = _snapshot(config_dir)
    upload = dict(before)
    upload["rubric.yaml"] = _renamed(
        before["rubric.yaml"].decode(), '"Evidence and Data"', '"Data"'
    ).encode()
    upload["llm.yaml"] = before["llm.yaml"] + b"\nnot_a_key: 1\n"  # schema forbids extras
    result = _import(client, admin, _zip(upload), validate_only=False)
    assert result.status_code == 200
    data = result.json()["data"]
    assert data["valid"] is False and data["applied"] is False
    assert data["results"]["llm"]["valid"] is False
    assert data["results"]["llm"]["problems"][0]["field"] == "not_a_key"
    assert data["results"]["rubric"]["valid"] is True
    assert _snapshot(config_dir) == before


def test_validate_all_reports_each_file(client: TestClient, admin: dict[str, str]) -> None:
    data = client.post(f"{API}/admin/config/validate-all", headers=admin).json()["data"]
    assert data["valid"] is True
    assert sorted(data["results"]) == sorted(FILE_SCHEMAS)


def test_odd_input_gets_a_clear_4xx_never_500(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    before = _snapshot(config_dir)
    cases = [
        (client.get(f"{API}/admin/config/nope", headers=admin), 404),
        (client.get(f"{API}/admin/config/..%2Fetc", headers=admin), 404),
        (_save(client, admin, "nope", "a: 1"), 404),
        (client.get(f"{API}/admin/config/rubric/history", headers=admin | {}), 200),
        (client.get(f"{API}/admin/config/rubric/versions/999999", headers=admin), 404),
        (client.get(f"{API}/admin/config/rubric/versions/abc", headers=admin), 422),
        (
            client.post(
                f"{API}/admin/config/rubric/rollback", json={"version_id": 424242}, headers=admin
            ),
            404,
        ),
        (
            client.post(
                f"{API}/admin/config/rubric/rollback", json={"version_id": "x"}, headers=admin
            ),
            422,
        ),
        (_import(client, admin, b"this is not a zip", validate_only=False), 400),
        (_import(client, admin, _zip({"readme.txt": b"hi"}), validate_only=False), 400),
        (
            client.post(
                f"{API}/admin/config/bulk-import",
                content=b"x",
                headers=admin | {"content-type": "text/plain"},
            ),
            415,
        ),
        (_save(client, admin, "rubric", "a: 1\n" + "#" * 300_000), 413),
        (_save(client, admin, "rubric", "rubric: [\x00]"), 400),
        (_save(client, admin, "rubric", "- just\n- a list\n"), 400),
        (_save(client, admin, "rubric", ""), 400),
        (
            client.post(
                f"{API}/admin/config/rubric",
                json={"config_content": "a: 1"},  # no change_reason
                headers=admin,
            ),
            422,
        ),
    ]
    for response, expected in cases:
        assert response.status_code == expected, (response.request.url, response.text)
        if expected >= 400:
            assert response.json()["errors"], response.text
    # A body past the API's request size limit never reaches the route.
    huge = client.post(
        f"{API}/admin/config/rubric",
        json={"config_content": "a" * 3_000_000, "change_reason": "x"},
        headers=admin,
    )
    assert huge.status_code == 413
    assert _snapshot(config_dir) == before


def test_auth_form_edits_values_in_place(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    current = client.get(f"{API}/admin/auth/config", headers=admin)
    assert current.status_code == 200, current.text
    assert current.json()["data"]["session_timeout"] == 3600
    assert "secret_key" not in current.text
    before = (config_dir / "auth.yaml").read_text()
    response = client.put(
        f"{API}/admin/auth/config",
        json={"session_timeout": 7200, "max_login_attempts": 7, "change_reason": "longer sessions"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["session_timeout"] == 7200 and data["max_login_attempts"] == 7
    assert data["restart_required"] is True  # a system file: this process still runs the old one
    after = (config_dir / "auth.yaml").read_text()
    parsed = yaml.safe_load(after)["authentication"]
    assert parsed["session"]["timeout"] == 7200
    assert parsed["security"]["max_login_attempts"] == 7
    # Only those two lines changed; comments and the rest are as they were.
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 2
    assert client.get(f"{API}/admin/config/auth", headers=admin).json()["data"]["restart_required"]
    history = client.get(f"{API}/admin/config/auth/history", headers=admin).json()["data"]
    assert history["versions"][0]["change_reason"] == "longer sessions"
    bad = client.put(f"{API}/admin/auth/config", json={"bcrypt_rounds": 99}, headers=admin)
    assert bad.status_code == 422
    empty = client.put(f"{API}/admin/auth/config", json={}, headers=admin)
    assert empty.status_code == 422


def test_admin_writes_are_rate_limited(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, config_dir: Path
) -> None:
    with admin_app(monkeypatch, ADMIN_OPS_PER_HOUR="2") as c:
        headers = _bearer(c, ADMIN_USERNAME, ADMIN_PASSWORD)
        content = _rubric(config_dir)
        statuses = [_save(c, headers, "rubric", content).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (
            c.get(f"{API}/admin/config/rubric", headers=headers).status_code == 200
        )  # reads are not counted


SAVER = """
import sys
from memoai.admin import config
from memoai.config import get_settings
from memoai.platform.identity import Principal

settings = get_settings()
base = (settings.runtime.config_dir / "rubric.yaml").read_bytes().decode()
who = sys.argv[1]
admin = Principal(session_id="s", username=who)
for i in range(6):
    config.save(settings, admin, "rubric", base + f"# {who} {i}\\n", f"{who}-{i}")
"""


def test_saves_from_two_processes_never_interleave(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, config_dir: Path
) -> None:
    # On Postgres nothing else serialises the two savers (SQLite's writer lock
    # would), so an unbroken chain of versions shows the config lock at work.
    with postgres_database() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        env = dict(os.environ)
        subprocess.run(
            [sys.executable, "-m", "memoai_cli.main", "migrate"], env=env, check=True, timeout=60
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", SAVER, who], env=env) for who in ("a", "b")
        ]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        reset_process_state()
        with session_scope(write=False) as db:
            rows = db.scalars(
                select(ConfigVersion)
                .where(ConfigVersion.config_type == "rubric")
                .order_by(ConfigVersion.version_number)
            ).all()
            chain = [(r.version_number, r.content, r.previous_content) for r in rows]
        reset_process_state()
    assert [n for n, _, _ in chain] == list(range(1, 14))  # baseline + 12 saves
    for (_, before, _), (_, _, previous) in itertools.pairwise(chain):
        assert previous == before  # each save replaced exactly the version before it
    assert (config_dir / "rubric.yaml").read_bytes().decode() == chain[-1][1]


def test_a_change_reason_with_nul_or_lone_surrogates_is_stored_safely(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    content = json.dumps(_rubric(config_dir) + "# x\n")
    headers = admin | {"content-type": "application/json"}
    nul = client.post(
        f"{API}/admin/config/rubric",
        content='{"config_content": %s, "change_reason": "bad \\u0000 reason"}' % content,  # noqa: UP031
        headers=headers,
    )
    assert nul.status_code == 200, nul.text
    versions = client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"][
        "versions"
    ]
    assert versions[0]["change_reason"] == "bad \\x00 reason"
    surrogate = client.post(
        f"{API}/admin/config/rubric",
        content='{"config_content": %s, "change_reason": "bad \\ud800"}' % content,  # noqa: UP031
        headers=headers,
    )
    assert surrogate.status_code in (200, 400, 422), surrogate.text


def test_a_file_that_is_not_utf8_is_shown_not_a_500(
    client: TestClient, admin: dict[str, str], config_dir: Path
) -> None:
    path = config_dir / "frontend.yaml"
    path.write_bytes(path.read_bytes() + b"# caf\xe9 in latin-1\n")
    response = client.get(f"{API}/admin/config/frontend", headers=admin)
    assert response.status_code == 200
    assert "caf\ufffd" in response.json()["data"]["content"]
    assert client.get(f"{API}/admin/config/bulk-export", headers=admin).status_code == 200


def test_a_failed_file_write_records_no_version_and_is_a_clear_503(
    client: TestClient, admin: dict[str, str], config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memoai.admin import files

    before = _snapshot(config_dir)

    def read_only(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files, "write_atomic", read_only)
    changed = _renamed(before["rubric.yaml"].decode(), '"Evidence and Data"', '"Data"')
    response = _save(client, admin, "rubric", changed)
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["code"] == "config_not_writable"
    assert _snapshot(config_dir) == before
    history = client.get(f"{API}/admin/config/rubric/history", headers=admin).json()["data"]
    assert history["versions"] == []  # the baseline and the change were rolled back
