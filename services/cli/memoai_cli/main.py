"""`memoai`: start each service, migrate, and check the configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from memoai.config import ConfigError, get_settings

F = TypeVar("F", bound=Callable[..., Any])


def config_errors(fn: F) -> F:
    """Print configuration problems (file, line, field, problem) and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo("Configuration error:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(package_name="memoai")
def cli() -> None:
    """Memo AI Coach."""


@cli.command()
@config_errors
def migrate() -> None:
    """Upgrade the database schema to the latest version."""
    from memoai.db import get_engine
    from memoai.logging import configure_logging
    from memoai.migrate import current_revision, upgrade

    settings = get_settings()
    configure_logging(settings, "cli")
    engine = get_engine()
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    target = "sqlite" if settings.is_sqlite else "postgresql"
    click.echo(f"Database ({target}) at revision {after} (was {before or 'empty'}).")


@cli.command("create-admin")
@click.option("--username", prompt=True, help="The admin's username.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (for scripts) instead of prompting.",
)
@config_errors
def create_admin(username: str, password_stdin: bool) -> None:
    """Create an admin account (the password policy of auth.yaml applies)."""
    from memoai.auth.users import create_admin as create
    from memoai.errors import MemoError
    from memoai.logging import configure_logging

    settings = get_settings()
    configure_logging(settings, "cli")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        # Never a command-line option: argv is visible to every user of the machine.
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create(settings, username, password)
    except MemoError as exc:
        click.echo(f"Cannot create the admin: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"Admin {user.username!r} created (id {user.id}).")


@cli.group()
def config() -> None:
    """Configuration files."""


@config.command("check")
@config_errors
def config_check() -> None:
    """Validate all 13 configuration files; exit 2 with file, field and problem if invalid."""
    from memoai.config import business_config, reset_config_cache
    from memoai.config.schemas import BUSINESS_FILES, SYSTEM_FILES

    reset_config_cache()
    settings = get_settings()
    business = business_config()
    click.echo(f"Configuration OK in {settings.runtime.config_dir}")
    click.echo(f"  files: {', '.join(SYSTEM_FILES + BUSINESS_FILES)}")
    click.echo(f"  environment: {settings.runtime.app_env}")
    click.echo(
        f"  rubric: {business.rubric.name} ({len(business.rubric.criteria)} criteria), "
        f"config version {business.version}"
    )
    click.echo(f"  llm provider: {settings.llm_provider}")
    click.echo(f"  database: {'sqlite' if settings.is_sqlite else 'postgresql'}")
    click.echo(f"  broker: {'embedded' if settings.uses_embedded_broker else 'redis'}")


@cli.command()
@click.option("--host", default=None, help="Bind address (default API_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default API_PORT or 8000).")
@config_errors
def api(host: str | None, port: int | None) -> None:
    """Run the REST API."""
    import uvicorn

    settings = get_settings()
    workers = settings.backend.workers.process_count
    uvicorn.run(
        "memoai_api.app:create_app",
        factory=True,
        host=host or settings.runtime.api_host,
        port=port or settings.runtime.api_port,
        workers=workers if workers > 1 else None,
        reload=settings.backend.features.auto_reload,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_keep_alive=10,
        timeout_graceful_shutdown=20,
        server_header=False,
    )


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@config_errors
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker; extra arguments go to `celery worker`."""
    settings = get_settings()
    q = settings.backend.queue
    if q.worker_pool == "prefork" and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Forked children each count metrics; the parent serves the sum.
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="memoai-metrics-")
    from memoai_worker.celery_app import app

    argv = [
        "worker",
        f"--pool={q.worker_pool}",
        f"--concurrency={q.worker_concurrency}",
        f"--queues={q.queue_name}",
        f"--loglevel={settings.logging.level}",
        "--without-gossip",
        "--without-mingle",
        *celery_args,
    ]
    app.worker_main(argv=argv)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@config_errors
def beat(celery_args: tuple[str, ...]) -> None:
    """Run Celery beat (the sweeper and other periodic jobs)."""
    settings = get_settings()
    settings.runtime.data_dir.mkdir(parents=True, exist_ok=True)
    from memoai_worker.celery_app import app

    app.start(argv=["beat", f"--loglevel={settings.logging.level}", *celery_args])


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--port", type=int, default=5555)
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
@config_errors
def flower(port: int, flower_args: tuple[str, ...]) -> None:
    """Run Flower, the Celery monitoring UI."""
    from memoai_worker.celery_app import app

    app.start(argv=["flower", f"--port={port}", *flower_args])


@cli.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@config_errors
def web(host: str | None, port: int | None) -> None:
    """Run the web UI."""
    import importlib.util

    import uvicorn

    if importlib.util.find_spec("memoai_web.app") is None:
        click.echo("The web UI is not part of this build.", err=True)
        sys.exit(1)
    settings = get_settings()
    uvicorn.run(
        "memoai_web.app:create_app",
        factory=True,
        host=host or settings.runtime.web_host,
        port=port or settings.runtime.web_port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@cli.command()
@click.option("--no-web", is_flag=True, help="Do not start the web UI.")
@config_errors
def stack(no_web: bool) -> None:
    """Run api, worker, beat and web in the foreground; Ctrl-C stops them all."""
    from memoai_cli.supervisor import run_stack

    get_settings()  # validate before starting anything
    sys.exit(run_stack(with_web=not no_web))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
