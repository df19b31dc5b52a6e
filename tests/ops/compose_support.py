"""Read Compose files the way `docker compose config` would, without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.ops.tools import INFRA

COMPOSE_DIR = INFRA / "compose"
COMPOSE_FILES = {
    "development": COMPOSE_DIR / "docker-compose.yml",
    "production": COMPOSE_DIR / "docker-compose.prod.yml",
}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$\$")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def variables(path: Path) -> list[tuple[str, str | None, str | None]]:
    """Every ${NAME...} in the file: (name, operator, default-or-message)."""
    return [
        (m.group(1), m.group(2), m.group(3))
        for m in _VAR.finditer(path.read_text())
        if m.group(0) != "$$"
    ]


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err} and $$."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if op == ":-":
            return current if current else interpolate(arg or "", env)
        if op == "-":
            return current if current is not None else interpolate(arg or "", env)
        if op in (":?", "?"):
            if not current:
                raise KeyError(f"{name} is required: {arg}")
            return current
        return current or ""

    return _VAR.sub(replace, value)


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def dockerfile_env(path: Path) -> dict[str, str]:
    """ENV of a Dockerfile's final stage (the runtime image)."""
    text = path.read_text().replace("\\\n", " ")
    final = text.rsplit("\nFROM ", 1)[-1]
    env: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line):
                env[key] = value
    return env


def uses_app_image(service: dict[str, Any]) -> Path | None:
    build = service.get("build")
    if isinstance(build, dict) and "dockerfile" in build:
        dockerfile = Path(build["dockerfile"])
        if dockerfile.parts[:2] == ("infra", "docker"):
            return INFRA.parent / dockerfile
    return None
