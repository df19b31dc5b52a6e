"""Postgres backups: ``pg_dump``, ``pg_restore`` and ``psql`` driven safely.

Owns the tools' environment (credentials as PG* variables, never on the command
line), running them with a timeout and a readable error, the row counts, the
dump taken in the same snapshot as those counts, the verification
(``pg_restore --list`` and a trial restore into a scratch database whose counts
must match the manifest) and the restore as one ``psql`` transaction that drops
the current objects first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from memoai.config import Settings
from memoai.operations.backup.archive import (
    PG_MEMBER,
    BackupError,
    CorruptBackup,
    Extracted,
    compare_counts,
    quote_ident,
)

_PG_TOOL_TIMEOUT = 6 * 3600


def _pg_env(url: URL, database: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    parts = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": database or url.database,
        "PGSSLMODE": _query_value(url, "sslmode"),
        "PGCONNECT_TIMEOUT": "10",
    }
    env.update({k: v for k, v in parts.items() if v})
    return env


def _query_value(url: URL, key: str) -> str | None:
    value = url.query.get(key)
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def _run_pg(args: list[str], env: dict[str, str], *, what: str) -> bytes:
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(f"{args[0]} is not installed (needed to {what})")
    proc = subprocess.run(  # noqa: S603 - fixed tool, arguments built here
        [tool, *args[1:]], env=env, capture_output=True, timeout=_PG_TOOL_TIMEOUT, check=False
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise BackupError(f"{args[0]} failed to {what}: {detail}")
    return proc.stdout


def _psycopg_conninfo(url: URL, database: str | None = None) -> str:
    rendered = url.set(drivername="postgresql", database=database or url.database)
    return rendered.render_as_string(hide_password=False)


def _pg_counts(cur: Any) -> dict[str, Any]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    names = [row[0] for row in cur.fetchall()]
    counts: dict[str, Any] = {}
    for name in names:
        cur.execute(f"SELECT count(*) FROM public.{quote_ident(name)}")  # noqa: S608
        counts[name] = cur.fetchone()[0]
    if "alembic_version" in names:
        cur.execute("SELECT version_num FROM public.alembic_version")
        row = cur.fetchone()
        counts["__alembic_revision__"] = row[0] if row else None
    return counts


def dump_postgres(url: URL, tmp: Path) -> tuple[Path, dict[str, Any]]:
    import psycopg

    target = tmp / PG_MEMBER
    with psycopg.connect(_psycopg_conninfo(url), connect_timeout=10) as conn:
        # The counts and the dump read one snapshot, so the manifest describes
        # exactly the rows in the dump even while the services keep writing.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            row = cur.fetchone()
            assert row is not None
            snapshot = str(row[0])
            counts = _pg_counts(cur)
        _run_pg(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
            ],
            _pg_env(url),
            what="dump the database",
        )
        conn.rollback()
    return target, counts


def verify_postgres(ex: Extracted, path: Path, settings: Settings, *, trial_restore: bool) -> None:
    url = make_url(settings.database_url) if not settings.is_sqlite else None
    env = _pg_env(url) if url is not None else dict(os.environ)
    try:
        _run_pg(["pg_restore", "--list", str(ex.database_file)], env, what="read the dump")
    except BackupError as exc:
        raise CorruptBackup(f"{path.name}: {exc}") from exc
    if not trial_restore:
        return
    if url is None:
        raise BackupError("a trial restore of a Postgres dump needs a Postgres DATABASE_URL")
    import psycopg

    scratch = f"memoai_verify_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_psycopg_conninfo(url), autocommit=True, connect_timeout=10) as admin:
        try:
            admin.execute(f"CREATE DATABASE {quote_ident(scratch)}")
        except psycopg.Error as exc:
            raise BackupError(
                f"cannot create the scratch database for the trial restore ({exc}); the "
                "database role needs CREATEDB"
            ) from exc
        try:
            try:
                _run_pg(
                    [
                        "pg_restore",
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--single-transaction",
                        f"--dbname={scratch}",
                        str(ex.database_file),
                    ],
                    _pg_env(url, scratch),
                    what="restore into a scratch database",
                )
            except BackupError as exc:
                raise CorruptBackup(f"{path.name}: trial restore failed: {exc}") from exc
            with (
                psycopg.connect(_psycopg_conninfo(url, scratch), connect_timeout=10) as conn,
                conn.cursor() as cur,
            ):
                counts = _pg_counts(cur)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(scratch)} WITH (FORCE)")
    compare_counts(ex.manifest, counts, path)


def restore_postgres(dump: Path, url: URL) -> None:
    import psycopg

    sql = _run_pg(
        ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(dump)],
        _pg_env(url),
        what="read the dump",
    )
    with psycopg.connect(_psycopg_conninfo(url), connect_timeout=10) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT 'TABLE', tablename FROM pg_tables WHERE schemaname = 'public' "
            "UNION ALL SELECT 'VIEW', viewname FROM pg_views WHERE schemaname = 'public' "
            "UNION ALL SELECT 'SEQUENCE', sequencename FROM pg_sequences "
            "WHERE schemaname = 'public'"
        )
        existing = cur.fetchall()
    # One transaction for the drop and the whole restore (DDL is transactional in
    # Postgres): a failure leaves the database exactly as it was.
    preamble = "".join(
        f"DROP {kind} IF EXISTS public.{quote_ident(name)} CASCADE;\n" for kind, name in existing
    )
    with tempfile.TemporaryDirectory(prefix="memoai-restore-") as tmp_name:
        script = Path(tmp_name) / "restore.sql"
        fd = os.open(script, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(preamble.encode())
            out.write(sql)
        _run_pg(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                str(script),
            ],
            _pg_env(url),
            what="restore the database",
        )
