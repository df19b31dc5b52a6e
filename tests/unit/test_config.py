"""Configuration: interpolation, secrets from files, schemas and their error messages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memoai.config import ConfigError, load_settings
from memoai.config.interpolate import InterpolationError, env_lookup, interpolate
from memoai.config.schemas import BUSINESS_FILES, FILE_SCHEMAS, SYSTEM_FILES
from tests.support.production import production_env

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    return target


def env(config_dir: Path, **extra: str) -> dict[str, str]:
    return {"CONFIG_DIR": str(config_dir), "DATA_DIR": str(config_dir.parent / "data"), **extra}


def test_there_are_thirteen_config_files_each_with_a_schema() -> None:
    names = sorted(p.stem for p in (REPO / "config").glob("*.yaml"))
    assert names == sorted(SYSTEM_FILES + BUSINESS_FILES) == sorted(FILE_SCHEMAS)
    assert len(names) == 13


@pytest.mark.parametrize(
    ("template", "environ", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A}", {}, ""),
        ("pre-${A:-${B:-deep}}-post", {}, "pre-deep-post"),
        ("${A:-${B:-deep}}", {"B": "b"}, "b"),
        ("$${A}", {"A": "1"}, "${A}"),
        ("${A:-a:-b}", {}, "a:-b"),
    ],
)
def test_interpolation(template: str, environ: dict[str, str], expected: str) -> None:
    assert interpolate(template, env_lookup(environ, {})) == expected


def test_secret_comes_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "jwt"
    secret.write_text("s3cret-from-file\n")
    lookup = env_lookup({"JWT_SECRET_KEY_FILE": str(secret)}, {})
    assert interpolate("${JWT_SECRET_KEY}", lookup) == "s3cret-from-file"


def test_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    lookup = env_lookup({"X_FILE": str(tmp_path / "missing")}, {})
    with pytest.raises(InterpolationError, match="X_FILE"):
        interpolate("${X}", lookup)


def test_environment_variables_of_the_contract_reach_the_settings(config_dir: Path) -> None:
    s = load_settings(
        env(
            config_dir,
            AUTH_ENABLED="true",
            SESSION_TIMEOUT="120",
            DATABASE_URL="postgresql://u@h/db",
            REDIS_URL="redis://127.0.0.1:6379/3",
            LLM_PROVIDER="claude",
            ANTHROPIC_API_KEY="sk-ant-abc123456789",
            LLM_BASE_URL="http://127.0.0.1:9",
            LLM_MODEL="claude-haiku-5-5",
            DEBUG_MODE="true",
            LOG_LEVEL="warning",
            LOG_FORMAT="text",
            RATE_LIMIT_PER_MINUTE="7",
            SUBMISSIONS_PER_HOUR="3",
            MAX_TEXT_LENGTH="5000",
            API_PORT="8123",
            WEB_PORT="3123",
        )
    )
    assert s.authentication.enabled is True
    assert s.authentication.session.timeout == 120
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.redis_url == "redis://127.0.0.1:6379/3" and not s.uses_embedded_broker
    assert s.llm_provider == "claude" and s.llm.provider.api_key == "sk-ant-abc123456789"
    assert s.llm.provider.base_url == "http://127.0.0.1:9"
    assert s.llm.provider.model == "claude-haiku-5-5"
    assert s.debug_mode is True
    assert s.logging.level == "WARNING" and s.logging.format == "text"
    assert s.security.rate_limiting.requests_per_minute == 7
    assert s.security.rate_limiting.submissions_per_hour == 3
    assert s.security.input_validation.max_text_length == 5000
    assert (s.runtime.api_port, s.runtime.web_port) == (8123, 3123)


def test_embedded_defaults_need_no_server(config_dir: Path) -> None:
    s = load_settings(env(config_dir))
    assert s.database_url == f"sqlite:///{(config_dir.parent / 'data' / 'memoai.db').resolve()}"
    assert s.uses_embedded_broker
    assert s.llm_provider == "offline"  # claude without a key falls back to offline


def test_profiles_change_defaults_but_not_explicit_values(config_dir: Path) -> None:
    prod = load_settings(env(config_dir, **production_env()))
    assert prod.authentication.enabled is True
    assert prod.security.headers.https_only is True
    assert prod.authentication.session.secure_cookies is True
    assert prod.debug_mode is False
    explicit = load_settings(env(config_dir, **production_env(AUTH_ENABLED="false")))
    assert explicit.authentication.enabled is False


@pytest.mark.parametrize("secret", [None, "changeme", "short"])
def test_production_refuses_a_missing_or_placeholder_jwt_secret(
    config_dir: Path, secret: str | None
) -> None:
    environ = env(config_dir, **production_env())
    del environ["JWT_SECRET_KEY"]
    if secret is not None:
        environ["JWT_SECRET_KEY"] = secret
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    (problem,) = info.value.problems
    assert problem.file == "auth.yaml"
    assert problem.field == "authentication.jwt.secret_key"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_weights_not_summing_to_100_name_file_and_problem(config_dir: Path) -> None:
    _replace(config_dir / "rubric.yaml", "weight: 20", "weight: 25")
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir))
    (problem,) = info.value.problems
    assert problem.file == "rubric.yaml"
    assert problem.field == "rubric"
    assert "sum to 100" in problem.message and "105" in problem.message


def test_missing_field_names_the_field_and_line(config_dir: Path) -> None:
    path = config_dir / "rubric.yaml"
    lines = path.read_text().splitlines(keepends=True)
    index = next(
        i for i, line in enumerate(lines) if "description: >-" in line and "    " in line[:6]
    )
    # Drop the first criterion's description (folded block: the line and its body).
    end = index + 1
    while lines[end].startswith("        "):
        end += 1
    path.write_text("".join(lines[:index] + lines[end:]))
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir))
    (problem,) = info.value.problems
    assert problem.field == "rubric.criteria.0.description"
    assert problem.message == "Field required"
    # A missing key has no line of its own: the error points at its parent item.
    assert problem.line is not None
    assert "id: bottom_line" in path.read_text().splitlines()[problem.line - 1]


def test_wrong_type_points_at_its_line(config_dir: Path) -> None:
    _replace(config_dir / "security.yaml", "${RATE_LIMIT_PER_MINUTE:-60}", "lots")
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir))
    (problem,) = info.value.problems
    assert problem.file == "security.yaml"
    assert problem.field == "security.rate_limiting.requests_per_minute"
    line = (config_dir / "security.yaml").read_text().splitlines()[problem.line - 1]  # type: ignore[operator]
    assert "requests_per_minute" in line


def test_malformed_yaml_is_reported_with_its_line(config_dir: Path) -> None:
    (config_dir / "context.yaml").write_text("context:\n  domain: [unclosed\n  tone: x\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir))
    (problem,) = info.value.problems
    assert problem.file == "context.yaml"
    assert problem.message.startswith("invalid YAML")
    assert problem.line is not None


def test_unknown_keys_are_rejected(config_dir: Path) -> None:
    _replace(config_dir / "llm.yaml", "  fallback:\n", "  fallbak_typo: 1\n  fallback:\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir))
    assert info.value.problems[0].field == "llm.fallbak_typo"


def test_timeouts_must_be_ordered(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir, TASK_TIME_LIMIT="500"))
    assert "visibility_timeout" in str(info.value)


def test_one_model_request_must_fit_in_the_evaluation_deadline(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir, LLM_TIMEOUT="180", EVALUATION_TIMEOUT="180"))
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("llm.yaml", "llm.request_settings.timeout")
    assert "180 s must be below backend.evaluation.timeout_seconds" in problem.message
    # An evaluation deadline above the request timeout is the working order.
    assert load_settings(env(config_dir, LLM_TIMEOUT="170", EVALUATION_TIMEOUT="180"))


def test_evaluation_deadline_must_fit_in_the_task_soft_limit(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir, EVALUATION_TIMEOUT="240"))
    assert "must be below queue.task_soft_time_limit (240)" in str(info.value)


def test_missing_file_is_named(config_dir: Path) -> None:
    (config_dir / "frameworks.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        load_settings(env(config_dir))
    assert info.value.problems[0].file == "frameworks.yaml"


def test_config_check_command_exit_codes(config_dir: Path) -> None:
    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memoai_cli.main", "config", "check"],
            env={"PATH": "/usr/bin:/bin", **env(config_dir, **extra)},
            capture_output=True,
            text=True,
            check=False,
        )

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert "Configuration OK" in ok.stdout and "6 criteria" in ok.stdout
    _replace(config_dir / "rubric.yaml", "weight: 10", "weight: 11")
    bad = run()
    assert bad.returncode == 2
    assert "rubric.yaml" in bad.stderr and "sum to 100" in bad.stderr
