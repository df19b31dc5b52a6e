"""Run a parser in a child process with a wall-clock budget, and kill it when the budget ends.

pypdf is pure Python, and a crafted or merely pathological PDF (deeply nested
objects, millions of text operators) can keep it busy for minutes. A thread
cannot be stopped: a timed-out thread would keep a core busy long after its
request had been answered, and a few such uploads would starve the API. A
process can be killed. Each extraction runs in a fresh interpreter
(`python -m memoai.documents.child`) with an empty environment (no secrets, no
database URL), the file on its stdin and the result as JSON on its stdout.
A fresh interpreter rather than multiprocessing's fork or forkserver: forking
the API copies its threads' locks, and forkserver re-imports the caller's main
module in every child. The price is the start-up of Python and the parsers,
a few hundred milliseconds per PDF or Word upload (plain text needs no child).

Inside the child, belt and braces: an address-space limit (a decompression bomb
inside a PDF stream ends in MemoryError, not in the host's OOM killer) and a
CPU-time limit (a child outliving its parent still ends). At most MAX_PARALLEL
children run per API process; further uploads wait for a slot within their own
time budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

from memoai.documents.errors import (
    ERRORS,
    DocumentError,
    ExtractionBusy,
    ExtractionFailed,
    ExtractionTimeout,
)

MAX_PARALLEL = 2
MEMORY_LIMIT = 1024 * 1024 * 1024  # address space of one child, bytes
_slots = threading.BoundedSemaphore(MAX_PARALLEL)
# What the child may see of our environment: where to import from, nothing else.
_PASSED_ENV = ("PYTHONPATH",)


def _command() -> list[str]:
    return (
        [sys.executable, "-I", "-m", "memoai.documents.child"]
        if _isolated_ok()
        else [
            sys.executable,
            "-m",
            "memoai.documents.child",
        ]
    )


def _isolated_ok() -> bool:
    """`-I` ignores PYTHONPATH: only usable when the package is importable without it."""
    return "PYTHONPATH" not in os.environ


def run(kind: str, data: bytes, max_chars: int, timeout: float) -> dict[str, Any]:
    """Extract `kind` ("pdf" or "docx") in a child; its DocumentError is raised here."""
    deadline = time.monotonic() + timeout
    if not _slots.acquire(timeout=timeout):
        raise ExtractionBusy(
            "Too many documents are being read right now; try again in a moment.",
            headers={"Retry-After": "5"},
        )
    try:
        header = json.dumps(
            {"kind": kind, "max_chars": max_chars, "cpu_seconds": timeout, "memory": MEMORY_LIMIT}
        )
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            _command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        try:
            out, _ = process.communicate(
                header.encode() + b"\n" + data, timeout=max(0.0, deadline - time.monotonic())
            )
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ExtractionTimeout(
                f"Reading the document took longer than {timeout:g} seconds. If it is very "
                "long or complex, save a shorter copy (or paste the memo's text).",
                details={"timeout_seconds": timeout},
            ) from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        _slots.release()
    try:
        message = json.loads(out)
    except ValueError:
        message = {"status": "crash", "reason": f"exit {process.returncode}"}
    status = message.get("status")
    if status == "ok":
        return dict(message["result"])
    if status == "error":
        cls = ERRORS.get(str(message.get("code")), DocumentError)
        raise cls(str(message.get("message")), details=message.get("details"))
    raise ExtractionFailed(
        "The document could not be read: it needs more memory than one upload may use, or it "
        "is damaged. Save a simpler copy (or paste the memo's text).",
        details={"reason": str(message.get("reason", "crash"))},
    )
