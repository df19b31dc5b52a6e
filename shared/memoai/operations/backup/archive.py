"""The archive format: what a backup file holds and how it is read back safely.

Owns the manifest and the member names, the SHA-256 of every member, writing the
tar (private modes, no owner names) and extracting it into a private temporary
directory with every member checked against the manifest; also the comparison of
a restored copy's row counts with the manifest, and the error hierarchy the whole
package raises. It knows nothing of either database engine beyond member names.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
CONFIG_PREFIX = "config/"

Engine = Literal["sqlite", "postgresql"]


class BackupError(Exception):
    """A backup could not be written or verified."""


class CorruptBackup(BackupError):
    """The archive is damaged, incomplete or not one of ours: it must not be restored."""


class BackupBusy(BackupError):
    """Another backup is being written to the same directory."""


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


# ------------------------------------------------------------------ writing


def write_archive(
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


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------ reading


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


# ------------------------------------------------------------------ checking


def compare_counts(manifest: Manifest, counts: dict[str, Any], path: Path) -> None:
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


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
