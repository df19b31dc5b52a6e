"""`memoai backup` / `memoai restore` on SQLite and Postgres, run as the operator runs them."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import Engine

from memoai.models import AuthEvent
from memoai.operations.backup import (
    CorruptBackup,
    list_backups,
    rotate,
    verify_archive,
)
from memoai.platform.db import build_engine
from tests.ops.conftest import OpsEnv
from tests.ops.data import mutate, seed, snapshot

pytestmark = pytest.mark.integration


def _engine(ops: OpsEnv) -> Engine:
    return build_engine(ops.settings())


def _backup(ops: OpsEnv) -> Path:
    out = ops.memoai("backup").stdout
    assert "written and verified" in out, out
    backups = [b for b in list_backups(ops.backup_dir) if b.label is None]
    assert backups, out
    return backups[0].path


def test_restore_gives_back_exactly_the_backed_up_rows(ops_env: OpsEnv) -> None:
    ops_env.memoai("migrate")
    engine = _engine(ops_env)
    try:
        seed(engine)
        before = snapshot(engine)
        archive = _backup(ops_env)
        mutate(engine)
        assert snapshot(engine) != before
        engine.dispose()

        result = ops_env.memoai("restore", "--yes", str(archive))
        assert "Restored" in result.stdout

        assert snapshot(engine) == before
        # Sequences and autoincrement counters came back too: new rows still insert.
        from sqlalchemy.orm import Session as DbSession

        with DbSession(engine) as db, db.begin():
            db.add(AuthEvent(event_type="login", success=True))
    finally:
        engine.dispose()


def test_restore_first_saves_the_current_database(ops_env: OpsEnv) -> None:
    ops_env.memoai("migrate")
    engine = _engine(ops_env)
    try:
        seed(engine, users=1, memos_per_user=1)
        archive = _backup(ops_env)
        mutate(engine)
        changed = snapshot(engine)
        engine.dispose()
        ops_env.memoai("restore", "--yes", str(archive))
        safety = [b for b in list_backups(ops_env.backup_dir) if b.label == "prerestore"]
        assert len(safety) == 1
        # The safety copy holds the state that the restore replaced.
        ops_env.memoai("restore", "--yes", "--no-safety-backup", str(safety[0].path))
        assert snapshot(engine) == changed
    finally:
        engine.dispose()


def test_archive_holds_manifest_database_and_configuration(sqlite_env: OpsEnv) -> None:
    sqlite_env.memoai("migrate")
    sqlite_env.backup_dir.mkdir(parents=True)
    leftover = sqlite_env.backup_dir / ".memoai-backup-20260101T000000Z-sqlite.tar.gz.partial"
    leftover.write_bytes(b"half a backup from a run that was killed")
    archive = _backup(sqlite_env)
    assert not leftover.exists()
    assert archive.name.endswith("-sqlite.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0, "backups hold user data: owner-only"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    yaml_files = {f"config/{p.name}" for p in (sqlite_env.root / "config").glob("*.yaml")}
    assert len(yaml_files) == 13
    assert names == {"manifest.json", "database.sqlite3", *yaml_files}
    assert manifest["engine"] == "sqlite"
    assert manifest["alembic_revision"]
    assert set(manifest["files"]) == names - {"manifest.json"}


def _corrupt_byte(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = path.with_name("corrupt-" + path.name)
    bad.write_bytes(bytes(data))
    return bad


def _truncate(path: Path) -> Path:
    bad = path.with_name("truncated-" + path.name)
    bad.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    return bad


def _tamper_database(path: Path) -> Path:
    """A well-formed archive whose database bytes no longer match the manifest."""
    bad = path.with_name("tampered-" + path.name)
    with tarfile.open(path) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("database."):
                data = data[:-1] + bytes([data[-1] ^ 0x01])
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return bad


def _foreign_tar(path: Path) -> Path:
    bad = path.with_name("foreign.tar.gz")
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return bad


def _not_gzip(path: Path) -> Path:
    bad = path.with_name("plain.tar.gz")
    bad.write_bytes(gzip.compress(b"not a tar file at all") + b"trailing")
    return bad


DAMAGES = (_corrupt_byte, _truncate, _tamper_database, _foreign_tar, _not_gzip)


def test_a_damaged_backup_is_detected_and_refused(ops_env: OpsEnv) -> None:
    ops_env.memoai("migrate")
    engine = _engine(ops_env)
    try:
        seed(engine, users=1, memos_per_user=2)
        archive = _backup(ops_env)
        before = snapshot(engine)
        engine.dispose()
        for damage in DAMAGES:
            bad = damage(archive)
            with pytest.raises(CorruptBackup):
                verify_archive(bad, ops_env.settings())
            result = ops_env.memoai("restore", "--yes", str(bad), check=False)
            assert result.returncode == 3, (damage.__name__, result.stdout + result.stderr)
            assert "Refused" in result.stderr
        # Refused before anything was touched: no safety copy, same rows.
        assert [b for b in list_backups(ops_env.backup_dir) if b.label] == []
        assert snapshot(engine) == before
    finally:
        engine.dispose()


def test_backup_of_another_engine_is_refused(sqlite_env: OpsEnv, tmp_path: Path) -> None:
    sqlite_env.memoai("migrate")
    archive = _backup(sqlite_env)
    renamed = archive.with_name(archive.name.replace("-sqlite", "-postgresql"))
    archive.rename(renamed)
    sqlite_env.env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = sqlite_env.memoai("restore", "--yes", "--no-safety-backup", str(renamed), check=False)
    assert result.returncode != 0
    assert "sqlite backup" in result.stderr


def test_rotation_keeps_the_retention_window_and_the_newest(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    for days in (0, 3, 6, 8, 30):
        stamp = now - timedelta(days=days)
        (tmp_path / f"memoai-backup-{stamp:%Y%m%dT%H%M%SZ}-sqlite.tar.gz").write_bytes(b"x")
    (tmp_path / "unrelated.tar.gz").write_bytes(b"x")
    removed = rotate(tmp_path, 7, now=now)
    assert len(removed) == 2
    assert len(list_backups(tmp_path)) == 3
    assert (tmp_path / "unrelated.tar.gz").exists()
    # However old, the newest archive is never rotated out.
    assert len(rotate(tmp_path, 1, now=now + timedelta(days=365))) == 2
    assert len(list_backups(tmp_path)) == 1
