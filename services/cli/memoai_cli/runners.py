"""What `memoai evaluate` runs on: the runner protocol and the failures with their exit codes.

Two runners take a memo, follow it to a final state while reporting progress,
and return the evaluation as the API's `data.evaluation` JSON: `local_runner`
(in this process) and `remote_runner` (a running service over HTTP).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Progress = Callable[[dict[str, Any]], None]
FINAL = ("completed", "failed")


class CliFailure(Exception):
    """A failure the command reports in one line and turns into its exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(CliFailure):
    exit_code = 2  # the file or an option is wrong; nothing was evaluated because of it


class Unreachable(CliFailure):
    exit_code = 3  # the API or the database did not answer


class NotAuthorised(CliFailure):
    exit_code = 4  # no, a wrong, an expired or a read-only token


class TimedOut(CliFailure):
    exit_code = 5  # still not final after --timeout seconds


class Runner(Protocol):
    max_length: int

    def submit(self, text: str) -> str:
        """Store the memo; returns the evaluation id."""
        ...

    def wait(self, evaluation_id: str, progress: Progress, timeout: float) -> dict[str, Any]:
        """Follow the evaluation to a final state; returns its JSON."""
        ...

    def where(self) -> str:
        """One line saying where the results are kept and how to see them."""
        ...

    def close(self) -> None: ...
