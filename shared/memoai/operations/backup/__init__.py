"""Backups: one self-describing archive per run, verified before it counts.

An archive (``memoai-backup-<UTC time>-<engine>.tar.gz``) holds:

- ``manifest.json``: format, engine, Alembic revision, row count per table and
  the SHA-256 of every other member;
- ``database.sqlite3`` (SQLite online backup API, a consistent copy taken while
  the services run) or ``database.pgdump`` (``pg_dump`` custom format, taken in
  the same snapshot as the row counts);
- ``config/*.yaml``, the configuration in force.

A backup is written to a hidden ``.partial`` file, then verified (checksums,
``PRAGMA integrity_check`` or ``pg_restore --list``, and a trial restore into a
temporary database whose row counts must match the manifest) and only then
renamed into place, so every visible archive has passed a restore once. Restore
refuses an archive that fails the same checks, and one taken from a schema this
code does not know.

Postgres credentials reach ``pg_dump``/``pg_restore``/``psql`` through PG*
environment variables, never the command line, so they do not show in ``ps``.

The package, one module per seam: ``archive`` (the format: manifest, members,
checksums, writing and safely extracting the tar, the errors), ``sqlite`` and
``postgres`` (each engine's dump, row counts, verification and restore),
``schedule`` (names, listing, the newest one's age, rotation) and ``jobs`` (create,
verify and restore, which orchestrate the others). Import from here.
"""

from memoai.operations.backup.archive import (
    CONFIG_PREFIX,
    FORMAT_VERSION,
    MANIFEST,
    PG_MEMBER,
    SQLITE_MEMBER,
    BackupBusy,
    BackupError,
    CorruptBackup,
    Engine,
    Extracted,
    Manifest,
    extracted,
)
from memoai.operations.backup.jobs import (
    BackupResult,
    RestoreResult,
    check_revision_known,
    create_backup,
    engine_of,
    restore_backup,
    verify_archive,
)
from memoai.operations.backup.schedule import (
    MIN_KEEP,
    PREFIX,
    BackupInfo,
    list_backups,
    newest_age_seconds,
    rotate,
)
from memoai.operations.backup.sqlite import sqlite_path

__all__ = [
    "CONFIG_PREFIX",
    "FORMAT_VERSION",
    "MANIFEST",
    "MIN_KEEP",
    "PG_MEMBER",
    "PREFIX",
    "SQLITE_MEMBER",
    "BackupBusy",
    "BackupError",
    "BackupInfo",
    "BackupResult",
    "CorruptBackup",
    "Engine",
    "Extracted",
    "Manifest",
    "RestoreResult",
    "check_revision_known",
    "create_backup",
    "engine_of",
    "extracted",
    "list_backups",
    "newest_age_seconds",
    "restore_backup",
    "rotate",
    "sqlite_path",
    "verify_archive",
]
