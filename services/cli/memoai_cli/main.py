"""`memoai`: start each service, migrate, and check the configuration.

One module on purpose: the click group and one short command per service;
heavier commands (evaluate, local runner, report) live in their own modules.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from memoai.config import ConfigError, Settings, get_settings, require_production_secrets
from memoai.config.settings import SERVICE_SECRETS

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


def settings_for(service: str) -> Settings:
    """This process's settings; in production, refuse a missing secret it will use."""
    settings = get_settings()
    require_production_secrets(settings, SERVICE_SECRETS[service])
    return settings


def _use_multiprocess_metrics() -> None:
    """Point prometheus_client at a fresh multiprocess directory for this process tree.

    Must run before prometheus_client is imported (it picks its value store at
    import). Files left by an earlier run would add their counts to ours, so an
    operator-provided directory is emptied first.
    """
    import tempfile

    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not configured:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="memoai-metrics-")
        return
    directory = Path(configured)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


@click.group()
@click.version_option(package_name="memoai")
def cli() -> None:
    """Memo AI Coach."""


@cli.command()
@config_errors
def migrate() -> None:
    """Upgrade the database schema to the latest version."""
    from memoai.platform.db import get_engine
    from memoai.platform.logging import configure_logging
    from memoai.platform.migrate import current_revision, upgrade

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
    from memoai.platform.errors import MemoError
    from memoai.platform.logging import configure_logging

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
    require_production_secrets(settings)  # every secret, whichever process needs it
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

    settings = settings_for("api")
    workers = api_processes(settings)
    if workers > 1:
        # Each uvicorn worker counts its own requests; whichever one answers a
        # scrape must serve the sum, so they share a multiprocess directory.
        _use_multiprocess_metrics()
    uvicorn.run(
        "memoai_api.app:create_app",
        factory=True,
        host=host or settings.runtime.api_host,
        port=port or settings.runtime.api_port,
        workers=workers if workers > 1 else None,
        reload=settings.backend.features.auto_reload,
        log_config=None,
        access_log=False,
        # X-Forwarded-For/-Proto count only from these peers (backend.yaml
        # forwarded_allow_ips, default 127.0.0.1): from anyone else the header
        # is ignored, so per-address limits and audit IPs cannot be forged.
        proxy_headers=True,
        forwarded_allow_ips=settings.backend.api_settings.forwarded_allow_ips,
        timeout_keep_alive=10,
        timeout_graceful_shutdown=20,
        server_header=False,
        # uvicorn[standard] brings both; "auto" would silently fall back to
        # asyncio and h11, which cost more CPU per request.
        loop="uvloop",
        http="httptools",
    )


def api_processes(settings: Settings) -> int:
    """backend.yaml workers.process_count, with "auto" resolved for this machine.

    On SQLite every writer queues on one file lock and, without Redis, each
    process counts rate limits on its own (N processes, N times each limit),
    so "auto" means one process there. On Postgres with Redis it means one per
    core this process may run on.
    """
    count = settings.backend.workers.process_count
    if count != "auto":
        return count
    if settings.is_sqlite or not settings.redis_url:
        return 1
    return max(1, len(os.sched_getaffinity(0)))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@config_errors
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker on every queue; extra arguments go to `celery worker`.

    `-Q chat` (or `-Q evaluations,batches`) consumes only those queues, `-X batches`
    all but those: evaluations, chat, batches, webhooks, maintenance.
    """
    from memoai.platform.queue import secrets_for_queues

    settings = get_settings()
    require_production_secrets(settings, secrets_for_queues(consumed_queues(settings, celery_args)))
    if settings.backend.queue.worker_pool == "prefork":
        # Forked children each count metrics; the parent serves the sum.
        _use_multiprocess_metrics()
    from memoai_worker.celery_app import app

    app.worker_main(argv=worker_argv(settings, celery_args))


def consumed_queues(settings: Settings, celery_args: tuple[str, ...]) -> list[str]:
    """The queues `memoai worker` with these arguments takes from (`-Q` picks, `-X` drops)."""
    from memoai.platform.queue import worker_queues

    chosen = _option(celery_args, "-Q", "--queues")
    queues = chosen.split(",") if chosen else worker_queues(settings)
    excluded = set((_option(celery_args, "-X", "--exclude-queues") or "").split(","))
    return [q for q in queues if q and q not in excluded]


def worker_argv(settings: Settings, celery_args: tuple[str, ...]) -> list[str]:
    """`celery worker` arguments: ours first, the caller's after (so theirs win)."""
    from memoai.platform.queue import worker_queues

    q = settings.backend.queue
    chosen = _option(celery_args, "-Q", "--queues")
    named = _option(celery_args, "-n", "--hostname") is not None
    ours = [f"--queues={','.join(worker_queues(settings))}"] if chosen is None else []
    if chosen is not None and not named:
        # Dedicated workers on one host need distinct node names (Celery warns
        # and Flower merges them otherwise): name it after its queues.
        ours.append(f"--hostname={chosen.replace(',', '+')}@%h")
    return [
        "worker",
        f"--pool={q.worker_pool}",
        f"--concurrency={q.worker_concurrency}",
        # Every queue unless the caller picked some (`-X` still excludes from all).
        *ours,
        f"--loglevel={settings.logging.level}",
        "--without-gossip",
        "--without-mingle",
        *celery_args,
    ]


def _option(args: tuple[str, ...], short: str, long: str) -> str | None:
    """The value of `-Q x`, `-Qx`, `--queues x` or `--queues=x` among args, else None."""
    for i, arg in enumerate(args):
        if arg in (short, long):
            return args[i + 1] if i + 1 < len(args) else ""
        if arg.startswith(f"{long}="):
            return arg.split("=", 1)[1]
        if arg.startswith(short) and not arg.startswith("--"):
            return arg[len(short) :]
    return None


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
        proxy_headers=True,
        forwarded_allow_ips=settings.backend.api_settings.forwarded_allow_ips,
        server_header=False,
    )


@cli.command()
@click.option("--no-web", is_flag=True, help="Do not start the web UI.")
@config_errors
def stack(no_web: bool) -> None:
    """Run api, worker, beat and web in the foreground; Ctrl-C stops them all."""
    from memoai_cli.supervisor import run_stack

    settings_for("stack")  # validate before starting anything
    sys.exit(run_stack(with_web=not no_web))


@cli.command()
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the archive (default database.yaml backup.directory).",
)
@config_errors
def backup(output_dir: Path | None) -> None:
    """Write a verified, compressed backup of the database and configuration."""
    from memoai.operations.backup import BackupError, create_backup
    from memoai.platform.logging import configure_logging

    settings = get_settings()
    configure_logging(settings, "cli")
    try:
        result = create_backup(settings, directory=output_dir)
    except BackupError as exc:
        click.echo(f"Backup failed: {exc}", err=True)
        sys.exit(1)
    rows = sum(result.manifest.tables.values())
    click.echo(
        f"Backup written and verified: {result.path} ({result.size:,} bytes, "
        f"{len(result.manifest.tables)} tables, {rows:,} rows, {result.seconds:.1f}s)"
    )
    for removed in result.removed:
        click.echo(f"  rotated out: {removed.name}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--verify-only", is_flag=True, help="Check the archive (and trial-restore it) only.")
@click.option(
    "--with-config", is_flag=True, help="Also restore the archive's YAML files into CONFIG_DIR."
)
@click.option(
    "--no-safety-backup",
    is_flag=True,
    help="Skip the backup of the current database taken before it is overwritten.",
)
@config_errors
def restore(
    file: Path, yes: bool, verify_only: bool, with_config: bool, no_safety_backup: bool
) -> None:
    """Replace the database with a backup's contents (stop api, worker and beat first)."""
    from memoai.operations.backup import (
        BackupError,
        CorruptBackup,
        create_backup,
        engine_of,
        restore_backup,
        verify_archive,
    )
    from memoai.platform.logging import configure_logging

    settings = get_settings()
    configure_logging(settings, "cli")
    try:
        if verify_only:
            manifest = verify_archive(file, settings, trial_restore=True)
            click.echo(
                f"{file.name}: OK ({manifest.engine}, revision {manifest.alembic_revision}, "
                f"{sum(manifest.tables.values()):,} rows, taken {manifest.created_at})"
            )
            return
        # Checked before anything else happens: a damaged file is refused
        # without a prompt, a safety copy or a single row touched.
        verify_archive(file, settings, trial_restore=False)
        target = (
            "the SQLite database" if engine_of(settings) == "sqlite" else "the Postgres database"
        )
        if not yes:
            click.confirm(
                f"Replace every row of {target} with the contents of {file.name}?", abort=True
            )
        if not no_safety_backup:
            safety = create_backup(settings, label="prerestore")
            click.echo(f"Current database saved first: {safety.path}")
        result = restore_backup(settings, file, with_config=with_config)
    except CorruptBackup as exc:
        click.echo(f"Refused: {exc}", err=True)
        sys.exit(3)
    except BackupError as exc:
        click.echo(f"Restore failed: {exc}", err=True)
        sys.exit(1)
    manifest = result.manifest
    click.echo(
        f"Restored {file.name}: {len(manifest.tables)} tables, "
        f"{sum(manifest.tables.values()):,} rows, schema revision {manifest.alembic_revision}."
    )
    if result.config_written:
        click.echo(
            f"Configuration restored ({', '.join(result.config_written)}); previous files kept "
            f"in {result.config_saved_to}."
        )
    click.echo(
        "Next: `memoai migrate` (a no-op if the schema is current), then start the services."
    )


@cli.command("alert-rules")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of stdout (e.g. infra/prometheus/alerts.yml).",
)
@click.option("--check", is_flag=True, help="Exit 1 if --output is not what would be written.")
@config_errors
def alert_rules(output: Path | None, check: bool) -> None:
    """Render the Prometheus alert rules from monitoring.yaml's thresholds."""
    from memoai.operations.alert_rules import render

    text = render(get_settings().monitoring)
    if output is None:
        click.echo(text, nl=False)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            click.echo(f"{output} is out of date; run `memoai alert-rules --output {output}`")
            sys.exit(1)
        click.echo(f"{output} is up to date.")
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}.")


from memoai_cli.evaluate import evaluate  # noqa: E402 - registered after the group exists

cli.add_command(evaluate)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
