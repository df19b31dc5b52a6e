"""SQLite backups: copy, count, verify and restore through the online backup API.

Owns the path of the configured database file, the consistent copy taken while
the services run, its row counts and Alembic revision, the check of an extracted
copy (``PRAGMA integrity_check`` and counts; the copy is itself the trial
restore) and the restore into the configured file, written through SQLite's own
locking so a live WAL database is replaced consistently.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from memoai.config import Settings
from memoai.operations.backup.archive import (
    BackupError,
    CorruptBackup,
    Extracted,
    compare_counts,
    quote_ident,
)


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def dump_sqlite(source: Path, target: Path) -> tuple[Path, dict[str, Any]]:
    if not source.exists():
        raise BackupError(f"the SQLite database {source} does not exist")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # One step: in WAL mode the read snapshot does not block writers, and a
        # stepwise copy would restart whenever another process writes.
        src.backup(dst)
    finally:
        src.close()
    try:
        # A standalone file: no -wal sidecar to forget.
        dst.execute("PRAGMA journal_mode=DELETE")
        tables = _sqlite_counts(dst)
    finally:
        dst.close()
    return target, tables


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, Any]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    counts: dict[str, Any] = {
        name: conn.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchone()[0]  # noqa: S608
        for name in names
    }
    if "alembic_version" in names:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        counts["__alembic_revision__"] = row[0] if row else None
    return counts


def verify_sqlite(ex: Extracted, path: Path) -> None:
    # The extracted copy is itself the trial restore: a private database file
    # opened and checked page by page, then counted.
    try:
        conn = sqlite3.connect(ex.database_file)
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise CorruptBackup(f"{path.name}: integrity check failed: {result[:5]}")
            counts = _sqlite_counts(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CorruptBackup(f"{path.name}: the database copy is damaged ({exc})") from exc
    compare_counts(ex.manifest, counts, path)


def restore_sqlite(source: Path, target: Path, settings: Settings) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        # The backup API writes the pages through SQLite's own locking, so a
        # live WAL database is replaced consistently (no file swapped under a
        # process that has it open).
        src.backup(dst)
        if settings.database.sqlite_settings.wal_mode:
            dst.execute("PRAGMA journal_mode=WAL")
        result = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"the restored database fails its integrity check: {result[:5]}")
    finally:
        src.close()
        dst.close()
