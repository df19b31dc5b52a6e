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
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import structlog
from sqlalchemy.engine import URL, make_url

from memoai import __version__
from memoai.config import Settings

log = structlog.get_logger(__name__)

FORMAT_VERSION = 1
PREFIX = "memoai-backup-"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
CONFIG_PREFIX = "config/"
# Rotation never removes the newest archives, however old: a stopped beat must
# not end with no backup at all.
MIN_KEEP = 1
_NAME_RE = re.compile(
    r"^memoai-backup-(?P<ts>\d{8}T\d{6}Z)-(?P<engine>sqlite|postgresql)"
    r"(?:-(?P<label>[a-z0-9]+))?\.tar(?P<gz>\.gz)?$"
)
_PG_TOOL_TIMEOUT = 6 * 3600

Engine = Literal["sqlite", "postgresql"]


class BackupError(Exception):
    """A backup could not be written or verified."""


class CorruptBackup(BackupError):
    """The archive is damaged, incomplete or not one of ours: it must not be restored."""


class BackupBusy(BackupError):
    """Another backup is being written to the same directory."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: datetime
    engine: Engine
    label: str | None
    size: int


@dataclass(frozen=True)
class Manifest:
    engine: Engine
    created_at: str
    alembic_revision: str | None
    tables: dict[str, int]
    files: dict[str, str]  # member name -> sha256
    app_version: str = ""
    format: int = FORMAT_VERSION

    def as_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2, sort_keys=True).encode()


@dataclass
class BackupResult:
    path: Path
    manifest: Manifest
    size: int
    seconds: float
    removed: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------ listing


def list_backups(directory: Path) -> list[BackupInfo]:
    """Our archives in `directory`, newest first (names carry the UTC time)."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _NAME_RE.match(entry.name)
        if not match or not entry.is_file():
            continue
        created = datetime.strptime(match["ts"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        found.append(
            BackupInfo(
                path=entry,
                created_at=created,
                engine=match["engine"],  # type: ignore[arg-type]
                label=match["label"],
                size=entry.stat().st_size,
            )
        )
    return sorted(found, key=lambda b: (b.created_at, b.path.name), reverse=True)


def newest_age_seconds(directory: Path) -> float | None:
    backups = list_backups(directory)
    if not backups:
        return None
    return max(0.0, time.time() - backups[0].created_at.timestamp())


def rotate(directory: Path, retention_days: int, *, now: datetime | None = None) -> list[Path]:
    """Delete archives older than the retention period, keeping the newest MIN_KEEP."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    removed = []
    for info in list_backups(directory)[MIN_KEEP:]:
        if info.created_at < cutoff:
            info.path.unlink(missing_ok=True)
            removed.append(info.path)
    if removed:
        log.info("backup.rotated", removed=[p.name for p in removed])
    return removed


# ------------------------------------------------------------------ engines


def engine_of(settings: Settings) -> Engine:
    return "sqlite" if settings.is_sqlite else "postgresql"


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


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


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ------------------------------------------------------------------ creating


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        directory.chmod(0o700)  # archives hold user data
    with (directory / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupBusy(f"another backup is running in {directory}") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_backup(
    settings: Settings, *, directory: Path | None = None, label: str | None = None
) -> BackupResult:
    """Write, verify and rotate one backup; returns where it is."""
    started = time.monotonic()
    directory = directory or settings.backup_dir
    engine = engine_of(settings)
    suffix = ".tar.gz" if settings.database.backup.compression else ".tar"
    with _directory_lock(directory):
        # Holding the lock, any partial file is a leftover of a run that died.
        for stale in directory.glob(f".{PREFIX}*.partial"):
            stale.unlink(missing_ok=True)
        while True:
            now = datetime.now(UTC)
            name = f"{PREFIX}{now:%Y%m%dT%H%M%SZ}-{engine}{f'-{label}' if label else ''}{suffix}"
            final = directory / name
            if not final.exists():
                break
            time.sleep(0.5)  # names have one-second resolution
        partial = directory / f".{name}.partial"
        with tempfile.TemporaryDirectory(prefix="memoai-backup-") as tmp_name:
            tmp = Path(tmp_name)
            if engine == "sqlite":
                db_member, tables = _dump_sqlite(sqlite_path(settings), tmp / SQLITE_MEMBER)
            else:
                db_member, tables = _dump_postgres(make_url(settings.database_url), tmp)
            revision = tables.pop("__alembic_revision__", None)
            members = {db_member.name: db_member}
            for yaml_file in sorted(settings.runtime.config_dir.glob("*.yaml")):
                members[CONFIG_PREFIX + yaml_file.name] = yaml_file
            manifest = Manifest(
                engine=engine,
                created_at=now.isoformat(),
                alembic_revision=str(revision) if revision is not None else None,
                tables={k: int(v) for k, v in tables.items()},
                files={member: _sha256(path) for member, path in members.items()},
                app_version=__version__,
            )
            try:
                _write_archive(partial, manifest, members, compress=suffix == ".tar.gz")
                verify_archive(partial, settings, trial_restore=True)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        os.replace(partial, final)
        _fsync_dir(directory)
        removed = rotate(directory, settings.database.backup.retention_days)
    result = BackupResult(
        path=final,
        manifest=manifest,
        size=final.stat().st_size,
        seconds=time.monotonic() - started,
        removed=removed,
    )
    log.info(
        "backup.written",
        path=str(final),
        size=result.size,
        engine=engine,
        tables=len(manifest.tables),
        rows=sum(manifest.tables.values()),
        seconds=round(result.seconds, 2),
    )
    return result


def _dump_sqlite(source: Path, target: Path) -> tuple[Path, dict[str, Any]]:
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
        name: conn.execute(f"SELECT count(*) FROM {_quote_ident(name)}").fetchone()[0]  # noqa: S608
        for name in names
    }
    if "alembic_version" in names:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        counts["__alembic_revision__"] = row[0] if row else None
    return counts


def _pg_counts(cur: Any) -> dict[str, Any]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    names = [row[0] for row in cur.fetchall()]
    counts: dict[str, Any] = {}
    for name in names:
        cur.execute(f"SELECT count(*) FROM public.{_quote_ident(name)}")  # noqa: S608
        counts[name] = cur.fetchone()[0]
    if "alembic_version" in names:
        cur.execute("SELECT version_num FROM public.alembic_version")
        row = cur.fetchone()
        counts["__alembic_revision__"] = row[0] if row else None
    return counts


def _dump_postgres(url: URL, tmp: Path) -> tuple[Path, dict[str, Any]]:
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


def _write_archive(
    path: Path, manifest: Manifest, members: dict[str, Path], *, compress: bool
) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz" if compress else "w") as tar:
            data = manifest.as_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
            for member, source in members.items():
                tar.add(source, arcname=member, recursive=False, filter=_private)
        raw.flush()
        os.fsync(raw.fileno())


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------ verifying


@dataclass
class Extracted:
    manifest: Manifest
    root: Path

    @property
    def database_file(self) -> Path:
        return self.root / (SQLITE_MEMBER if self.manifest.engine == "sqlite" else PG_MEMBER)

    def config_files(self) -> dict[str, Path]:
        return {
            m.removeprefix(CONFIG_PREFIX): self.root / m
            for m in self.manifest.files
            if m.startswith(CONFIG_PREFIX)
        }


@contextlib.contextmanager
def extracted(path: Path) -> Iterator[Extracted]:
    """Unpack an archive into a private temporary directory, checking every byte."""
    with tempfile.TemporaryDirectory(prefix="memoai-restore-") as tmp_name:
        root = Path(tmp_name)
        yield Extracted(_extract(path, root), root)


def _extract(path: Path, root: Path) -> Manifest:
    try:
        with tarfile.open(path, mode="r:*") as tar:
            members = tar.getmembers()  # reads the whole stream: gzip CRC, tar headers
            by_name = {m.name: m for m in members}
            if len(by_name) != len(members):
                raise CorruptBackup(f"{path.name}: a member name appears twice")
            if MANIFEST not in by_name:
                raise CorruptBackup(f"{path.name}: no {MANIFEST}; not a Memo AI Coach backup")
            manifest = _parse_manifest(_read_member(tar, by_name[MANIFEST]), path)
            expected = set(manifest.files) | {MANIFEST}
            if set(by_name) != expected:
                raise CorruptBackup(
                    f"{path.name}: members {sorted(set(by_name) ^ expected)} do not match "
                    "the manifest"
                )
            for name, sha in manifest.files.items():
                member = by_name[name]
                if not member.isfile() or not _safe_member(name):
                    raise CorruptBackup(f"{path.name}: unexpected member {name!r}")
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                with target.open("wb") as out:
                    for chunk in iter(lambda: source.read(1 << 20), b""):  # noqa: B023
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != sha:
                    raise CorruptBackup(f"{path.name}: checksum mismatch for {name}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise CorruptBackup(f"{path.name}: unreadable archive ({exc})") from exc
    return manifest


def _safe_member(name: str) -> bool:
    if name in (SQLITE_MEMBER, PG_MEMBER):
        return True
    return bool(re.fullmatch(r"config/[A-Za-z0-9_.-]+\.yaml", name))


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise CorruptBackup(f"{member.name} is not a file")
    return handle.read()


def _parse_manifest(data: bytes, path: Path) -> Manifest:
    try:
        raw = json.loads(data)
        manifest = Manifest(
            engine=raw["engine"],
            created_at=str(raw["created_at"]),
            alembic_revision=raw.get("alembic_revision"),
            tables={str(k): int(v) for k, v in raw["tables"].items()},
            files={str(k): str(v) for k, v in raw["files"].items()},
            app_version=str(raw.get("app_version", "")),
            format=int(raw["format"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptBackup(f"{path.name}: invalid manifest ({exc})") from exc
    if manifest.format != FORMAT_VERSION:
        raise CorruptBackup(f"{path.name}: unsupported backup format {manifest.format}")
    if manifest.engine not in ("sqlite", "postgresql"):
        raise CorruptBackup(f"{path.name}: unknown engine {manifest.engine!r}")
    db_member = SQLITE_MEMBER if manifest.engine == "sqlite" else PG_MEMBER
    if db_member not in manifest.files:
        raise CorruptBackup(f"{path.name}: the manifest lists no {db_member}")
    return manifest


def verify_archive(path: Path, settings: Settings, *, trial_restore: bool = True) -> Manifest:
    """Raise CorruptBackup unless the archive is intact and (optionally) restores."""
    with extracted(path) as ex:
        if ex.manifest.engine == "sqlite":
            _verify_sqlite(ex, path)
        else:
            _verify_postgres(ex, path, settings, trial_restore=trial_restore)
        return ex.manifest


def _verify_sqlite(ex: Extracted, path: Path) -> None:
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
    _compare_counts(ex.manifest, counts, path)


def _verify_postgres(ex: Extracted, path: Path, settings: Settings, *, trial_restore: bool) -> None:
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
            admin.execute(f"CREATE DATABASE {_quote_ident(scratch)}")
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
            admin.execute(f"DROP DATABASE IF EXISTS {_quote_ident(scratch)} WITH (FORCE)")
    _compare_counts(ex.manifest, counts, path)


def _compare_counts(manifest: Manifest, counts: dict[str, Any], path: Path) -> None:
    revision = counts.pop("__alembic_revision__", None)
    if counts != manifest.tables:
        diff = {
            t: (manifest.tables.get(t), counts.get(t))
            for t in set(counts) | set(manifest.tables)
            if manifest.tables.get(t) != counts.get(t)
        }
        raise CorruptBackup(f"{path.name}: restored row counts differ from the manifest: {diff}")
    if revision != manifest.alembic_revision:
        raise CorruptBackup(f"{path.name}: schema revision differs from the manifest")


# ------------------------------------------------------------------ restoring


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    config_written: list[str]
    config_saved_to: Path | None


def check_revision_known(revision: str | None) -> None:
    """Refuse a backup taken by a newer version of the code (unknown migration)."""
    if revision is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from memoai.platform.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(revision)
    except CommandError as exc:
        raise BackupError(
            f"the backup's schema revision {revision} is unknown to this version of Memo AI "
            "Coach; restore it with the version that wrote it"
        ) from exc


def restore_backup(settings: Settings, path: Path, *, with_config: bool = False) -> RestoreResult:
    """Replace the database's contents with the archive's (services should be stopped)."""
    engine = engine_of(settings)
    with extracted(path) as ex:
        manifest = ex.manifest
        if manifest.engine != engine:
            raise BackupError(
                f"{path.name} is a {manifest.engine} backup but DATABASE_URL points to {engine}"
            )
        check_revision_known(manifest.alembic_revision)
        config_files = ex.config_files()
        if with_config:
            _validate_config(config_files, settings)
        if engine == "sqlite":
            _verify_sqlite(ex, path)
            _restore_sqlite(ex.database_file, sqlite_path(settings), settings)
        else:
            _verify_postgres(ex, path, settings, trial_restore=False)
            _restore_postgres(ex.database_file, make_url(settings.database_url))
        written: list[str] = []
        saved_to: Path | None = None
        if with_config:
            written, saved_to = _write_config(config_files, settings.runtime.config_dir)
    log.warning(
        "backup.restored",
        path=str(path),
        engine=engine,
        revision=manifest.alembic_revision,
        rows=sum(manifest.tables.values()),
        config=written,
    )
    return RestoreResult(manifest, written, saved_to)


def _restore_sqlite(source: Path, target: Path, settings: Settings) -> None:
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


def _restore_postgres(dump: Path, url: URL) -> None:
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
        f"DROP {kind} IF EXISTS public.{_quote_ident(name)} CASCADE;\n" for kind, name in existing
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


def _validate_config(files: dict[str, Path], settings: Settings) -> None:
    from memoai.config import ConfigError, validate_text
    from memoai.config.schemas import FILE_SCHEMAS

    problems = []
    for name, path in files.items():
        config_type = name.removesuffix(".yaml")
        if config_type not in FILE_SCHEMAS:
            continue
        try:
            validate_text(config_type, path.read_text(encoding="utf-8"), settings.lookup())
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise BackupError(
            "the archive's configuration is not valid for this version: "
            + "; ".join(str(p) for p in problems)
        )


def _write_config(files: dict[str, Path], config_dir: Path) -> tuple[list[str], Path]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = config_dir / f".pre-restore-{stamp}"
    saved.mkdir(parents=True, exist_ok=True)
    written = []
    for name, source in sorted(files.items()):
        target = config_dir / name
        if target.exists():
            shutil.copy2(target, saved / name)
        tmp = config_dir / f".{name}.restore"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        written.append(name)
    return written, saved
