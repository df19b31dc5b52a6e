"""A write lock shared by every process using one SQLite file.

SQLite lets one writer in at a time; the others poll with a busy handler whose
sleeps grow to 100 ms, so under contention a write could wait a second while
the file was free most of that time. Taking this lock first queues writers in
the kernel (flock) and wakes the next one the moment the lock is released.
Reentrant within a thread, so a hook that writes inside a write still works.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = threading.local()
        self._fd: int | None = None

    def _file(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            depth = getattr(self._depth, "n", 0)
            if depth == 0:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            self._depth.n = depth + 1
            try:
                yield
            finally:
                self._depth.n = depth
                if depth == 0:
                    fcntl.flock(self._file(), fcntl.LOCK_UN)

    def depth(self) -> int:
        """How many held() of this thread are open (0: it does not hold the lock;
        above 1: releasing the innermost does not release the file)."""
        return int(getattr(self._depth, "n", 0))

    def reset_after_fork(self) -> None:
        self._fd = None
        self._thread_lock = threading.RLock()
        self._depth = threading.local()
