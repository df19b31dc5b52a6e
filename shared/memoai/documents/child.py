"""The extraction process: `python -m memoai.documents.child`, one document per run.

stdin: one JSON line {kind, max_chars, cpu_seconds, memory}, then the file's bytes.
stdout: {"status": "ok", "result": {text, warnings}} or
{"status": "error", code, message, details} or {"status": "crash", reason}.
Resource limits are set before anything is parsed.
"""

from __future__ import annotations

import contextlib
import json
import math
import resource
import sys
from typing import Any


def _limit(memory: int, cpu_seconds: float) -> None:
    for which, soft, hard in (
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_CPU, math.ceil(cpu_seconds) + 1, math.ceil(cpu_seconds) + 2),
    ):
        # A lower hard limit may already be in force: then it stays.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (soft, hard))


def main() -> None:
    stream = sys.stdin.buffer
    header = json.loads(stream.readline())
    _limit(int(header["memory"]), float(header["cpu_seconds"]))
    data = stream.read()
    answer: dict[str, Any]
    try:
        from memoai.documents.errors import DocumentError
        from memoai.documents.service import EXTRACTORS

        try:
            text, warnings = EXTRACTORS[header["kind"]](data, int(header["max_chars"]))
        except DocumentError as exc:
            answer = {
                "status": "error",
                "code": exc.code,
                "message": exc.message,
                "details": exc.details,
            }
        else:
            answer = {
                "status": "ok",
                "result": {"text": text, "warnings": [w.model_dump() for w in warnings]},
            }
    except MemoryError:
        answer = {"status": "crash", "reason": "memory"}
    sys.stdout.buffer.write(json.dumps(answer).encode())
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
