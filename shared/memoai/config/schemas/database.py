"""Schema of ``database.yaml``: the connection, SQLite tuning, backups and retention.

Owns the database URL (sqlite or postgresql only) and pool, SQLite pragmas,
maintenance intervals, the backup schedule and directory, and the retention
rules for expired sessions and old submissions.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from memoai.config.schemas.common import NonNegInt, OptStr, PosFloat, PosInt, Strict


class Connection(Strict):
    url: OptStr = None
    pool_size: PosInt = 20
    max_overflow: NonNegInt = 10
    pool_timeout: PosFloat = 30
    pool_recycle: PosInt = 3600

    @model_validator(mode="after")
    def _known_scheme(self) -> Connection:
        if self.url and not self.url.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("url must be a sqlite:// or postgresql:// URL")
        return self


class SqliteSettings(Strict):
    wal_mode: bool = True
    synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    cache_size: int = 10_000
    temp_store: Literal["default", "file", "memory"] = "memory"
    journal_size_limit: int = 67_108_864
    busy_timeout_ms: Annotated[int, Field(ge=0)] = 10_000


class DbPerformance(Strict):
    query_timeout: PosInt = 30
    checkpoint_interval: PosInt = 3600
    vacuum_interval: PosInt = 86_400
    analyze_interval: PosInt = 86_400


class Backup(Strict):
    enabled: bool = True
    interval: PosInt = 86_400
    retention_days: PosInt = 7
    compression: bool = True
    directory: OptStr = None


class Retention(Strict):
    enabled: bool = True
    # Expired or revoked sessions are deleted this long after they ended; an
    # anonymous session's memos, evaluations and chats go with it (no one can
    # reach them once the session is gone).
    expired_session_grace_hours: NonNegInt = 24
    # Per logged-in user, older submissions beyond this many are archived to
    # JSON and deleted; 0 keeps everything.
    keep_submissions_per_user: NonNegInt = 1000
    archive_directory: OptStr = None


class Database(Strict):
    connection: Connection = Connection()
    sqlite_settings: SqliteSettings = SqliteSettings()
    performance: DbPerformance = DbPerformance()
    backup: Backup = Backup()
    retention: Retention = Retention()


class DatabaseFile(Strict):
    database: Database
