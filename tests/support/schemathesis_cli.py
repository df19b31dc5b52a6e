"""The schemathesis command line, with CPython 3.11's AST construction made
one thread at a time.

With `--workers 2` two threads can build ASTs at once (Hypothesis parses a
module's source to describe each lambda it filters with), and 3.11 keeps the
AST constructor's recursion depth in state the threads share: one thread's
depth is checked against the other's and the parse fails with "SystemError:
AST constructor recursion depth mismatch" (CPython gh-106905), a run error
that has nothing to do with the API. Parses are rare (once per source file,
then cached), so serialising them costs nothing measurable.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

from schemathesis.cli import schemathesis

_parse = ast.parse
_lock = threading.RLock()


def _serial_parse(*args: Any, **kwargs: Any) -> Any:
    with _lock:
        return _parse(*args, **kwargs)


if __name__ == "__main__":
    ast.parse = _serial_parse
    sys.exit(schemathesis())
