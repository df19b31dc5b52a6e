"""Exact-bytes reads and atomic writes of configuration files.

A save writes a temporary file in the same directory, fsyncs it and renames it
over the original: a reader (another process's hot reload) sees either the old
or the new file, never half of one. The rename also gives the file a new inode,
which is what the business-config store's change check looks at.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from memoai.platform.filelock import WriteLock

LOCK_NAME = ".memoai-config.lock"
_locks: dict[Path, WriteLock] = {}


def config_lock(config_dir: Path) -> WriteLock:
    """One lock per config directory, shared by every process that mounts it."""
    lock = _locks.get(config_dir)
    if lock is None:
        lock = _locks.setdefault(config_dir, WriteLock(config_dir / LOCK_NAME))
    return lock


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_exact(path: Path) -> str | None:
    """The file's text with its line endings untouched; None when it does not exist.

    A file edited by hand into another encoding is shown with replacement
    characters rather than failing the request; saving it fixes the file.
    """
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


def write_atomic(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
