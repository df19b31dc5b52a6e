"""Issue 13 without I/O: which ${VAR} a file may hold, the production secret check,
the secret registry and its response guard, and the login slot reservation."""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from memoai.config import ConfigError, load_settings, require_production_secrets
from memoai.config import references as refs
from memoai.config.interpolate import env_lookup
from memoai.config.loader import validate_text
from memoai.config.schemas import FILE_SCHEMAS
from memoai.config.settings import SERVICE_SECRETS
from memoai.platform import secrets
from memoai.platform.ratelimit import RateLimiter, Scope
from tests.support import aio
from tests.support.production import PRODUCTION_SECRETS, production_env

REPO = Path(__file__).resolve().parents[2]
JWT = PRODUCTION_SECRETS["JWT_SECRET_KEY"]
LOOKUP = env_lookup({"JWT_SECRET_KEY": JWT, "HOME": "/root"}, {})


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    return target


def _shipped(name: str) -> str:
    return (REPO / "config" / f"{name}.yaml").read_text()


def _problems(name: str, text: str, mode: refs.Mode, **kw: Any) -> list[str]:
    try:
        validate_text(name, text, LOOKUP, mode=mode, **kw)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


# ------------------------------------------------------------ the allow-list


def test_the_admin_allow_list_is_exactly_what_the_shipped_files_use() -> None:
    for name in FILE_SCHEMAS:
        data = yaml.safe_load(_shipped(name))
        used: set[str] = set()
        for path, value in refs.strings(data):
            for variable in refs.references(value):
                if variable in refs.SECRET_VARIABLES:
                    # A shipped secret sits in its own slot, as the whole value.
                    assert variable in refs.SECRET_SLOTS[name][path], (name, path, variable)
                    assert refs.is_pure_reference(value), (name, path, value)
                else:
                    used.add(variable)
        assert used == set(refs.ADMIN_VARIABLES[name]), name
        assert not used & refs.SECRET_VARIABLES


def test_every_shipped_file_passes_both_modes_unchanged() -> None:
    for name in FILE_SCHEMAS:
        assert _problems(name, _shipped(name), "startup") == [], name
        assert _problems(name, _shipped(name), "admin") == [], name


# ------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "variable",
    ["JWT_SECRET_KEY", "CLAUDE_API_KEY", "DATABASE_URL", "REDIS_URL", "WEBHOOK_SIGNING_SECRET",
     "JWT_SECRET_KEY_FILE", "AWS_SECRET_ACCESS_KEY", "ADMIN_PASSWORD"],
)  # fmt: skip
def test_business_files_never_interpolate_a_secret_in_any_mode(variable: str) -> None:
    text = _shipped("context").replace("context:\n", f"context:\n  note: ${{{variable}}}\n", 1)
    for mode in ("startup", "admin"):
        (problem,) = _problems("context", text, mode)  # type: ignore[arg-type]
        assert problem.startswith("context.yaml:3 [context.note]: "), problem
        assert f"${{{variable}}}" in problem


def test_a_secret_outside_its_field_is_refused_even_at_start_up() -> None:
    text = _shipped("auth").replace(
        "title: ${API_TITLE:-Memo AI Coach API}", "title: ${JWT_SECRET_KEY}"
    )
    (problem,) = _problems("auth", text, "startup")
    assert "auth.yaml:35 [api_documentation.openapi.title]" in problem
    assert "may only fill auth.yaml authentication.jwt.secret_key" in problem


def test_the_admin_api_may_not_splice_a_secret_into_a_longer_value() -> None:
    # e.g. an alert URL of one's own carrying the key: only a whole-value reference.
    text = _shipped("llm").replace(
        "api_key: ${CLAUDE_API_KEY:-${ANTHROPIC_API_KEY:-${LLM_API_KEY:-}}}",
        'api_key: "x-${CLAUDE_API_KEY}"',
    )
    (problem,) = _problems("llm", text, "admin")
    assert "must be the whole value" in problem and "llm.yaml:8" in problem
    assert _problems("llm", text, "startup") == []  # an operator may compose it


def test_the_admin_api_refuses_variables_the_file_does_not_use() -> None:
    text = _shipped("frontend").replace(
        "page_title: ${PAGE_TITLE:-Memo AI Coach}", "page_title: ${HOME}"
    )
    (problem,) = _problems("frontend", text, "admin")
    assert re.search(r"frontend\.yaml:\d+ \[frontend\.ui_settings\.page_title\]", problem)
    assert "${HOME} is not an environment variable frontend.yaml may use" in problem
    assert _problems("frontend", text, "startup") == []  # operators keep full interpolation


def test_an_escaped_dollar_is_text_not_a_reference() -> None:
    text = _shipped("context").replace('tone: "Direct', 'tone: "Say $${JWT_SECRET_KEY}; direct', 1)
    assert _problems("context", text, "admin") == []
    parsed = validate_text("context", text, LOOKUP, mode="admin")
    assert "Say ${JWT_SECRET_KEY}; direct" in parsed.model_dump_json()


def test_the_operators_own_reference_may_stay_where_it_is() -> None:
    custom = _shipped("backend").replace(
        "broker_url: ${REDIS_URL:-}", 'broker_url: "redis://:${REDIS_PASSWORD}@redis:6379/0"'
    )
    existing = refs.existing_references(yaml.safe_load(custom))
    edited = custom.replace(
        "worker_concurrency: ${WORKER_CONCURRENCY:-16}", "worker_concurrency: 8"
    )
    assert _problems("backend", edited, "admin", existing=existing) == []
    # ...but not be copied elsewhere, and not be added by an admin in the first place.
    moved = edited.replace(
        "key_prefix: ${REDIS_KEY_PREFIX:-memoai}", "key_prefix: ${REDIS_PASSWORD}"
    )
    assert any(
        "REDIS_PASSWORD" in p for p in _problems("backend", moved, "admin", existing=existing)
    )
    assert _problems("backend", custom, "admin", existing={}) != []


# ------------------------------------------------------------ production start-up


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("JWT_SECRET_KEY", None, "authentication.jwt.secret_key"),
        ("JWT_SECRET_KEY", "changeme-changeme-changeme-changeme", "authentication.jwt.secret_key"),
        ("WEBHOOK_SIGNING_SECRET", None, "security.webhooks.signing_secret"),
        ("WEBHOOK_SIGNING_SECRET", "short", "security.webhooks.signing_secret"),
        ("CLAUDE_API_KEY", None, "llm.provider.api_key"),
        ("CLAUDE_API_KEY", "your-api-key-goes-here", "llm.provider.api_key"),
        ("DATABASE_URL", "postgresql://memoai:memoai@db:5432/memoai", "database.connection.url"),
        ("DATABASE_URL", "postgresql://memoai@db:5432/memoai", "database.connection.url"),
        ("ADMIN_PASSWORD", "changeme", "authentication.bootstrap_admin.password"),
        ("FORWARDED_ALLOW_IPS", "*", "backend.api_settings.forwarded_allow_ips"),
    ],
)
def test_production_refuses_each_missing_or_default_secret(
    config_dir: Path, variable: str, value: str | None, field: str
) -> None:
    environ = {
        "CONFIG_DIR": str(config_dir),
        "DATA_DIR": str(config_dir.parent / "data"),
        **production_env(ADMIN_USERNAME="ops-admin", ADMIN_PASSWORD="Ops-admin-passw0rd-9"),
    }
    require_production_secrets(load_settings(environ))
    environ.pop(variable, None)
    if value is not None:
        environ[variable] = value
    with pytest.raises(ConfigError) as info:
        require_production_secrets(load_settings(environ))
    assert [p.field for p in info.value.problems] == [field]


def test_production_without_a_model_needs_only_the_offline_provider(config_dir: Path) -> None:
    environ = {"CONFIG_DIR": str(config_dir), **production_env(LLM_PROVIDER="offline")}
    del environ["CLAUDE_API_KEY"]
    settings = load_settings(environ)
    require_production_secrets(settings)
    assert settings.llm_provider == "offline"


def test_a_process_may_lack_a_secret_it_never_uses_but_never_hold_a_bad_one(
    config_dir: Path,
) -> None:
    # A web or beat pod gets only the JWT key (infra/k8s mounts what each uses).
    environ = {
        "CONFIG_DIR": str(config_dir),
        "APP_ENV": "production",
        "JWT_SECRET_KEY": PRODUCTION_SECRETS["JWT_SECRET_KEY"],
    }
    settings = load_settings(environ)
    for service in ("web", "beat", "flower", "migrate"):
        require_production_secrets(settings, SERVICE_SECRETS[service])
    for service in ("api", "worker"):
        with pytest.raises(ConfigError) as info:
            require_production_secrets(settings, SERVICE_SECRETS[service])
        fields = {p.field for p in info.value.problems}
        assert fields == {"security.webhooks.signing_secret", "llm.provider.api_key"}
    # Given, but a placeholder: refused by every process at load.
    with pytest.raises(ConfigError, match="WEBHOOK_SIGNING_SECRET"):
        load_settings({**environ, "WEBHOOK_SIGNING_SECRET": "changeme"})


# ------------------------------------------------------------ registry and guard


def test_settings_register_every_secret_with_connection_passwords(config_dir: Path) -> None:
    environ = {
        "CONFIG_DIR": str(config_dir),
        "DATA_DIR": str(config_dir.parent / "data"),
        **production_env(
            DATABASE_URL="postgresql://memoai:Pg%2Fpassw0rd-long-1@db:5432/memoai",
            REDIS_URL="redis://:redis-passw0rd-long@redis:6379/0",
            ADMIN_USERNAME="ops-admin",
            ADMIN_PASSWORD="Ops-admin-passw0rd-9",
        ),
    }
    values = set(load_settings(environ).secret_values())
    assert {
        PRODUCTION_SECRETS["JWT_SECRET_KEY"],
        PRODUCTION_SECRETS["WEBHOOK_SIGNING_SECRET"],
        PRODUCTION_SECRETS["CLAUDE_API_KEY"],
        "Ops-admin-passw0rd-9",
        "Pg/passw0rd-long-1",
        "Pg%2Fpassw0rd-long-1",
        "redis-passw0rd-long",
        "redis://:redis-passw0rd-long@redis:6379/0",
    } <= values


def test_the_guard_redacts_json_bodies_and_fixes_their_length() -> None:
    secret = 'guard-"secret"-' + "q" * 20
    secrets.register(secret)
    body = json.dumps({"data": {"title": secret, "n": 1}}).encode()
    sent: list[dict[str, Any]] = []

    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:]})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = secrets.SecretRedactionMiddleware(app)
    aio.run(guard({"type": "http", "path": "/x"}, None, send))
    out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(out) == {"data": {"title": secrets.MARKER, "n": 1}}
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(out)).encode()


# ------------------------------------------------------------ login slots


def test_reservations_never_exceed_the_limit_under_concurrency(config_dir: Path) -> None:
    environ = {
        "CONFIG_DIR": str(config_dir),
        "DATA_DIR": str(config_dir.parent / "data"),
        "LOGIN_ATTEMPTS_PER_HOUR": "4",
        "RATE_LIMIT_IP_MULTIPLIER": "1",
    }
    limiter = RateLimiter(load_settings(environ))
    barrier = threading.Barrier(16)
    allowed: list[bool] = []

    def attempt() -> None:
        barrier.wait()
        allowed.append(limiter.reserve(Scope.LOGIN, "10.0.0.1", per_ip=True).allowed)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 4
    # A released slot (a successful login) is free again; a kept one is not.
    first = limiter.reserve(Scope.LOGIN, "10.0.0.2", per_ip=True)
    assert first.allowed
    first.release()
    assert [limiter.reserve(Scope.LOGIN, "10.0.0.2", per_ip=True).allowed for _ in range(5)] == [
        True,
        True,
        True,
        True,
        False,
    ]


def test_a_worker_needs_the_secrets_of_the_queues_it_consumes() -> None:
    from memoai.platform.queue import secrets_for_queues
    from memoai_cli.main import consumed_queues

    settings = load_settings({"CONFIG_DIR": str(REPO / "config")})
    every = consumed_queues(settings, ())
    assert secrets_for_queues(every) == {"llm", "webhooks"}
    assert secrets_for_queues(consumed_queues(settings, ("-Q", "chat"))) == {"llm"}
    assert secrets_for_queues(consumed_queues(settings, ("--queues=webhooks",))) == {"webhooks"}
    assert "webhooks" not in consumed_queues(settings, ("-X", "webhooks"))
    assert secrets_for_queues(consumed_queues(settings, ("-Qmaintenance",))) == set()
    # A queue we do not route to (an old deployment's) may carry any task.
    assert secrets_for_queues(["memoai"]) == {"llm", "webhooks"}
