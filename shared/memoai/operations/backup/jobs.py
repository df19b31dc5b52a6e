"""The backup jobs the CLI and the beat run: create, verify and restore.

Owns the orchestration: creating a backup (under a directory lock, written to a
hidden ``.partial`` file, verified with a trial restore, renamed into place and
the directory rotated), verifying an archive with its engine's checks, and
restoring one (engine and schema revision checked, then the database and, on
request, the configuration, validated first and the current files saved aside).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url

from memoai import __version__
from memoai.config import Settings
from memoai.operations.backup.archive import (
    CONFIG_PREFIX,
    SQLITE_MEMBER,
    BackupBusy,
    BackupError,
    Engine,
    Manifest,
    extracted,
    sha256,
    write_archive,
)
from memoai.operations.backup.postgres import dump_postgres, restore_postgres, verify_postgres
from memoai.operations.backup.schedule import PREFIX, rotate
from memoai.operations.backup.sqlite import dump_sqlite, restore_sqlite, sqlite_path, verify_sqlite

log = structlog.get_logger(__name__)


@dataclass
class BackupResult:
    path: Path
    manifest: Manifest
    size: int
    seconds: float
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    config_written: list[str]
    config_saved_to: Path | None


def engine_of(settings: Settings) -> Engine:
    return "sqlite" if settings.is_sqlite else "postgresql"


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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
                db_member, tables = dump_sqlite(sqlite_path(settings), tmp / SQLITE_MEMBER)
            else:
                db_member, tables = dump_postgres(make_url(settings.database_url), tmp)
            revision = tables.pop("__alembic_revision__", None)
            members = {db_member.name: db_member}
            for yaml_file in sorted(settings.runtime.config_dir.glob("*.yaml")):
                members[CONFIG_PREFIX + yaml_file.name] = yaml_file
            manifest = Manifest(
                engine=engine,
                created_at=now.isoformat(),
                alembic_revision=str(revision) if revision is not None else None,
                tables={k: int(v) for k, v in tables.items()},
                files={member: sha256(path) for member, path in members.items()},
                app_version=__version__,
            )
            try:
                write_archive(partial, manifest, members, compress=suffix == ".tar.gz")
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


def verify_archive(path: Path, settings: Settings, *, trial_restore: bool = True) -> Manifest:
    """Raise CorruptBackup unless the archive is intact and (optionally) restores."""
    with extracted(path) as ex:
        if ex.manifest.engine == "sqlite":
            verify_sqlite(ex, path)
        else:
            verify_postgres(ex, path, settings, trial_restore=trial_restore)
        return ex.manifest


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
            verify_sqlite(ex, path)
            restore_sqlite(ex.database_file, sqlite_path(settings), settings)
        else:
            verify_postgres(ex, path, settings, trial_restore=False)
            restore_postgres(ex.database_file, make_url(settings.database_url))
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
