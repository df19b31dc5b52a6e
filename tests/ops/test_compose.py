"""Both Compose files, checked without a Docker engine: schema, references, environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from memoai.config import load_settings
from tests.ops.compose_support import (
    COMPOSE_DIR,
    COMPOSE_FILES,
    dockerfile_env,
    interpolate,
    load,
    service_environment,
    uses_app_image,
    variables,
)
from tests.ops.tools import COMPOSE_SCHEMA, INFRA, REPO, require, run
from tests.support.services import unavailable

FILES = list(COMPOSE_FILES.items())
IDS = list(COMPOSE_FILES)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not COMPOSE_SCHEMA.exists():
        unavailable("the Compose JSON schema", f"{COMPOSE_SCHEMA} is missing")
    return dict(json.loads(COMPOSE_SCHEMA.read_text()))


@pytest.mark.parametrize(("profile", "path"), FILES, ids=IDS)
def test_compose_file_validates_against_the_compose_specification(
    schema: dict[str, Any], profile: str, path: Path
) -> None:
    data = load(path)
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []
    # And once more with the variables resolved, as Compose sees it.
    assert list(validator.iter_errors(interpolate(data, {}))) == []


def _named(items: Any) -> set[str]:
    if isinstance(items, dict):
        return set(items)
    return {i if isinstance(i, str) else i["source"] for i in items or []}


@pytest.mark.parametrize(("profile", "path"), FILES, ids=IDS)
def test_every_reference_points_at_something_that_exists(profile: str, path: Path) -> None:
    data = interpolate(load(path), {})
    services = data["services"]
    volumes = set(data.get("volumes") or {})
    secrets = set(data.get("secrets") or {})
    networks = set(data.get("networks") or {}) | {"default"}
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health check"
        assert _named(svc.get("secrets")) <= secrets, name
        assert _named(svc.get("networks")) <= networks, name
        build = svc.get("build")
        if build:
            context = (COMPOSE_DIR / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), name
        for mount in svc.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if source.startswith((".", "/")):
                host = (COMPOSE_DIR / source).resolve()
                if host.name == "certs":  # made by infra/nginx/gen-cert.sh
                    assert (host.parent / "gen-cert.sh").is_file()
                else:
                    assert host.exists(), f"{name} mounts missing {source}"
            else:
                assert source in volumes, f"{name} mounts undeclared volume {source}"
        assert "image" in svc or "build" in svc, name


@pytest.mark.parametrize(("profile", "path"), FILES, ids=IDS)
def test_every_compose_variable_has_a_default(profile: str, path: Path) -> None:
    missing = [name for name, op, _ in variables(path) if op is None]
    assert missing == [], "use ${VAR:-default}, or ${VAR:?message} for a required one"


def test_production_services_restart_have_limits_and_scale() -> None:
    data = interpolate(load(COMPOSE_FILES["production"]), {})
    services = data["services"]
    expected = {"postgres", "redis", "api", "worker", "beat", "web", "flower", "nginx",
                "prometheus", "grafana"}  # fmt: skip
    assert expected <= set(services)
    for name in expected:
        svc = services[name]
        assert svc.get("restart") == "unless-stopped", name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
        assert "healthcheck" in svc, name
    for name in ("api", "worker"):
        # Scalable with --scale: no fixed name, no host port.
        assert "container_name" not in services[name]
        assert "ports" not in services[name]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert set(services["nginx"]["ports"]) == {"80:80", "443:443"}
    for name in ("postgres", "redis"):
        assert services[name]["networks"] == ["backend"]
        assert "ports" not in services[name]
    assert data["networks"]["backend"]["internal"] is True
    assert data["volumes"].keys() >= {"postgres_data", "redis_data", "backups", "grafana_data"}
    assert "--appendonly" in services["redis"]["command"]
    for name in ("prometheus", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"])


def test_production_secrets_are_files_and_never_environment_values() -> None:
    data = interpolate(load(COMPOSE_FILES["production"]), {})
    assert {"jwt_secret", "claude_api_key"} <= set(data["secrets"])
    for name, spec in data["secrets"].items():
        assert "file" in spec, name
    api_env = service_environment(data["services"]["api"])
    assert api_env["JWT_SECRET_KEY_FILE"] == "/run/secrets/jwt_secret"
    assert api_env["CLAUDE_API_KEY_FILE"] == "/run/secrets/claude_api_key"
    for svc in data["services"].values():
        for key in service_environment(svc):
            assert key.endswith("_FILE") or not re.search(r"SECRET|PASSWORD|API_KEY", key), key
    script = (COMPOSE_DIR / "init-secrets.sh").read_text()
    for name in data["secrets"]:
        assert re.search(rf"\bwrite {name}\b", script), f"init-secrets.sh does not make {name}"


def test_development_mounts_source_and_keeps_sqlite_on_a_named_volume() -> None:
    data = interpolate(load(COMPOSE_FILES["development"]), {})
    services = data["services"]
    assert {"redis", "api", "worker", "beat", "web", "flower"} <= set(services)
    for name in ("api", "worker", "beat", "web"):
        mounts = services[name]["volumes"]
        assert "../../shared:/app/src/shared:ro" in mounts
        assert "memoai_dev_data:/data" in mounts
        assert "DATABASE_URL" not in service_environment(services[name])  # SQLite default
    assert services["api"]["environment"]["AUTO_RELOAD"] == "true"
    for ports in (services[s].get("ports", []) for s in services):
        assert all(p.startswith("127.0.0.1:") for p in ports)


# Variables read by the application outside the YAML files, and by third parties.
_RUNTIME_VARS = {
    "APP_ENV", "DATA_DIR", "CONFIG_DIR", "API_HOST", "API_PORT", "WEB_HOST", "WEB_PORT",
    "API_URL", "PROMETHEUS_MULTIPROC_DIR",
}  # fmt: skip
_THIRD_PARTY_VARS = {
    "PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH",
    "FORWARDED_ALLOW_IPS",  # uvicorn
    "FLOWER_PORT",  # infra/docker/healthcheck.py
}  # fmt: skip


def _config_vars() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "config").glob("*.yaml"):
        names |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", path.read_text()))
    return names


@pytest.mark.parametrize(("profile", "path"), FILES, ids=IDS)
def test_every_app_service_starts_with_the_environment_it_is_given(
    profile: str, path: Path, tmp_path: Path
) -> None:
    """Load the real configuration with exactly the environment Compose would pass."""
    data = interpolate(load(path), {})
    known = _config_vars() | _RUNTIME_VARS | _THIRD_PARTY_VARS
    # What init-secrets.sh writes (production refuses missing or default ones).
    secret_values = {
        "jwt_secret": "k" * 64,
        "webhook_signing_secret": "w" * 64,
        "claude_api_key": "sk-ant-compose-" + "0" * 40,
        "database_url": "postgresql://memoai:" + "p" * 40 + "@postgres:5432/memoai",
    }
    checked = []
    for name, svc in data["services"].items():
        dockerfile = uses_app_image(svc)
        if dockerfile is None:
            continue
        env = {**dockerfile_env(dockerfile), **service_environment(svc)}
        unknown = {k for k in env if k not in known and k.removesuffix("_FILE") not in known}
        assert unknown == set(), f"{name}: variables nothing reads: {unknown}"
        for key, value in list(env.items()):
            if value.startswith("/run/secrets/"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in _named(svc.get("secrets")), f"{name} lacks secret {secret}"
                file = tmp_path / f"{name}-{secret}"
                file.write_text(secret_values[secret])
                env[key] = str(file)
        env["CONFIG_DIR"] = str(REPO / "config")
        env["DATA_DIR"] = str(tmp_path / name)
        settings = load_settings(env)  # raises with file, field and problem if anything is missing
        assert settings.runtime.app_env == profile
        if profile == "production":
            assert settings.authentication.enabled
            assert not settings.is_sqlite
            assert settings.redis_url == "redis://redis:6379/0"
            assert settings.authentication.jwt.secret_key == "k" * 64
        else:
            assert settings.is_sqlite
        checked.append(name)
    assert {"api", "worker", "web"} <= set(checked)


def test_only_the_edge_network_is_trusted_to_forward_client_addresses() -> None:
    data = interpolate(load(COMPOSE_FILES["production"]), {})
    services = data["services"]
    subnet = data["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert subnet == "172.30.80.0/24"
    assert services["nginx"]["networks"] == ["edge"]  # nginx reaches nothing else
    for name in ("api", "web", "flower"):
        assert "edge" in services[name]["networks"], name
    for name in ("worker", "beat", "prometheus", "grafana", "postgres", "redis"):
        assert "edge" not in (services[name].get("networks") or ["default"]), name
    for name in ("api", "web", "worker", "beat", "flower", "migrate"):
        assert service_environment(services[name])["FORWARDED_ALLOW_IPS"] == subnet, name
    # One override moves both together.
    moved = interpolate(load(COMPOSE_FILES["production"]), {"EDGE_SUBNET": "10.9.8.0/24"})
    assert moved["networks"]["edge"]["ipam"]["config"][0]["subnet"] == "10.9.8.0/24"
    assert service_environment(moved["services"]["api"])["FORWARDED_ALLOW_IPS"] == "10.9.8.0/24"


def _init_secrets(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(COMPOSE_DIR / "init-secrets.sh"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": os.environ["PATH"], **env},
    )


def test_init_secrets_check_refuses_missing_short_or_default_secrets(tmp_path: Path) -> None:
    require("openssl")
    secrets = tmp_path / "secrets"
    made = _init_secrets(secrets, CLAUDE_API_KEY="sk-ant-" + "k" * 40)
    assert made.returncode == 0, made.stderr
    assert _init_secrets("--check", secrets).returncode == 0
    for name in ("jwt_secret", "webhook_signing_secret", "database_url", "postgres_password",
                 "flower_htpasswd", "grafana_admin_password", "claude_api_key"):  # fmt: skip
        assert (secrets / name).stat().st_size > 0, name

    def refused(name: str, content: str | None, **env: str) -> str:
        path = secrets / name
        saved = path.read_bytes()
        if content is None:
            path.unlink()
        else:
            path.write_text(content)
        try:
            result = _init_secrets("--check", secrets, **env)
        finally:
            path.write_bytes(saved)
        assert result.returncode == 1, (name, content, result.stdout)
        return result.stderr

    assert "jwt_secret" in refused("jwt_secret", None)
    assert "jwt_secret" in refused("jwt_secret", "changeme")
    assert "webhook_signing_secret" in refused("webhook_signing_secret", "short")
    assert "grafana_admin_password" in refused("grafana_admin_password", "admin")
    assert "database_url" in refused("database_url", "postgresql://memoai@postgres:5432/memoai")
    assert "database_url" in refused(
        "database_url", "postgresql://memoai:postgres@postgres:5432/memoai"
    )
    default_flower = "ops:" + run("openssl", "passwd", "-apr1", "admin").stdout.strip() + "\n"
    assert "default password" in refused("flower_htpasswd", default_flower)
    assert "flower_htpasswd" in refused("flower_htpasswd", "ops:plaintext\n")
    assert "claude_api_key" in refused("claude_api_key", "")
    # Without a model the Claude key may stay empty.
    (secrets / "claude_api_key").write_text("")
    assert _init_secrets("--check", secrets, LLM_PROVIDER="offline").returncode == 0
    makefile = (REPO / "Makefile").read_text()
    assert "infra/compose/init-secrets.sh --check" in makefile


def test_staging_profile_uses_the_production_file() -> None:
    data = interpolate(load(COMPOSE_FILES["production"]), {"APP_ENV": "staging"})
    assert service_environment(data["services"]["api"])["APP_ENV"] == "staging"


def test_make_targets_drive_the_compose_files() -> None:
    makefile = (REPO / "Makefile").read_text()
    for target in ("up", "up-prod", "down"):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
    assert "infra/compose/docker-compose.yml" in makefile
    assert "infra/compose/docker-compose.prod.yml" in makefile
    assert (INFRA / "nginx" / "gen-cert.sh").is_file()


def test_compose_config_is_one_volume_written_by_the_api_read_by_the_rest() -> None:
    # The admin API saves configuration files; workers must see the same files
    # (hot reload of the rubric) but have no reason to write them.
    data = interpolate(load(COMPOSE_FILES["production"]), {})
    services = data["services"]
    assert "config:/app/config" in services["api"]["volumes"]
    for name in ("worker", "beat", "web"):
        assert "config:/app/config:ro" in services[name]["volumes"], name
    dev = interpolate(load(COMPOSE_FILES["development"]), {})["services"]
    for name in ("api", "worker"):
        assert "../../config:/app/config" in dev[name]["volumes"], name


def test_a_dedicated_chat_worker_takes_chat_replies_only() -> None:
    from memoai.platform.queue import QueueName

    services = interpolate(load(COMPOSE_FILES["production"]), {})["services"]
    chat = services["worker-chat"]
    assert chat["command"] == ["memoai", "worker", "-Q", QueueName.CHAT.value]
    assert services["worker"]["command"] == ["memoai", "worker"]  # every queue, chat too
    # Prometheus discovers workers by the DNS name `worker`.
    assert "worker" in chat["networks"]["default"]["aliases"]
    assert "backend" in chat["networks"]
    assert chat["restart"] == "unless-stopped"
    assert chat["deploy"]["resources"]["limits"]["memory"]
    assert "healthcheck" in chat and "container_name" not in chat and "ports" not in chat
    assert "config:/app/config:ro" in chat["volumes"]
    dev = interpolate(load(COMPOSE_FILES["development"]), {})["services"]["worker-chat"]
    assert dev["profiles"] == ["dedicated-workers"]  # opt-in in development
    assert "memoai worker -Q chat" in dev["command"]
