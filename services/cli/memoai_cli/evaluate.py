"""`memoai evaluate FILE…`: evaluate memos from the terminal (docs/cli.md).

With no --api-url it evaluates in this process on the embedded defaults of
`make run` (same DATA_DIR, database and provider selection), so the results are
stored and show up in the history; with --api-url it uses a running service
over HTTP. Exit codes: 0 all evaluated, 1 an evaluation failed, 2 usage or
input error, 3 service or database unreachable, 4 not authorised, 5 timed out,
130 interrupted.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from memoai_cli import report
from memoai_cli.runners import FINAL, CliFailure, InputError, Progress, Runner

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Far above any memo limit: a wrong file (a video, a dump) is refused unread.
MAX_FILE_BYTES = 5 * 1024 * 1024
# check_memo applies the service's own length limit (a remote one may differ);
# extraction only has to stop a document that could never fit.
MAX_EXTRACTED_CHARS = 1_000_000
STDIN = "-"


@dataclass(frozen=True)
class Memo:
    source: str  # what the user typed, for messages and the summary
    text: str


def read_memo(path: Path | str) -> str:
    """The text of one memo file: .docx, .pdf, .txt or .md by content ("-" is standard input).

    The text is extracted exactly as the web app's upload extracts it (memoai.documents),
    so comment offsets refer to the same text; any problem is an InputError naming the file.
    """
    from memoai.documents import DocumentError, Limits, extract_bytes, extract_file

    limits = Limits(max_bytes=MAX_FILE_BYTES, max_chars=MAX_EXTRACTED_CHARS)
    name = "standard input" if str(path) == STDIN else str(path)
    try:
        if str(path) == STDIN:
            extracted = extract_bytes(sys.stdin.buffer.read(limits.max_bytes + 1), "stdin", limits)
        else:
            path = Path(path)
            if not path.exists():
                raise InputError(f"{path}: no such file.")
            if path.is_dir():
                raise InputError(f"{path}: is a directory; name the memo files in it.")
            extracted = extract_file(path, limits)
    except DocumentError as exc:
        raise InputError(f"{name}: {exc.message}") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror}).") from exc
    for warning in extracted.warnings:
        click.echo(f"memoai evaluate: {name}: {warning.message}", err=True)
    return extracted.text


def check_memo(source: str, text: str, max_length: int) -> Memo:
    """The API's own rules for a memo (empty, too long, NUL...), before anything is sent."""
    from memoai.evaluation.service import validate_text
    from memoai.platform.errors import ValidationFailed

    try:
        validate_text(text, max_length)
    except ValidationFailed as exc:
        raise InputError(f"{source}: {exc.message}") from exc
    return Memo(source, text)


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Progress]:
    """A progress bar on standard error when it is a terminal; silent otherwise."""
    if not enabled:
        yield lambda _status: None
        return
    with click.progressbar(
        length=100, label=label, file=sys.stderr, show_eta=False, width=30
    ) as bar:

        def update(status: dict[str, Any]) -> None:
            final = status["status"] in FINAL
            percent = 100 if final else int(status.get("progress_percentage") or 0)
            bar.label = f"{label} ({status['status']})"
            if percent > bar.pos:
                bar.update(percent - bar.pos)
            else:
                bar.render_progress()  # the state changed, the percentage did not

        yield update


def _width() -> int:
    return max(60, min(120, shutil.get_terminal_size((100, 24)).columns))


def _fail(message: str, code: int) -> None:
    click.echo(f"memoai evaluate: {message}", err=True)
    sys.exit(code)


def _runner(api_url: str | None, token: str | None, username: str | None) -> Runner:
    if api_url:
        from memoai_cli.remote_runner import RemoteRunner

        return RemoteRunner(api_url, token)
    from memoai.config import get_settings
    from memoai_cli.local_runner import LocalRunner

    settings = get_settings()
    return LocalRunner(settings, username)


def _quiet_logs(verbose: bool) -> None:
    """Service logs go to standard error (standard output is the report), errors only."""
    import logging

    from memoai.config import get_settings
    from memoai.platform.logging import configure_logging

    configure_logging(get_settings(), "cli")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
            if not verbose:
                handler.setLevel(logging.ERROR)


@click.command("evaluate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print each evaluation as one JSON line.")
@click.option(
    "--api-url",
    envvar="MEMOAI_API_URL",
    metavar="URL",
    help="Use this running service (e.g. http://127.0.0.1:8000) instead of evaluating here.",
)
@click.option(
    "--token",
    envvar="MEMOAI_TOKEN",
    metavar="TOKEN",
    help="API token for --api-url (prefer the MEMOAI_TOKEN variable: arguments are visible "
    "to other users of the machine).",
)
@click.option(
    "--user",
    "username",
    metavar="NAME",
    help="Evaluate as this user (in-process only; needed when AUTH_ENABLED=true).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    default=600,
    show_default=True,
    help="Seconds to wait for each evaluation.",
)
@click.option("--verbose", is_flag=True, help="Show the service's log lines on standard error.")
def evaluate(
    files: tuple[str, ...],
    as_json: bool,
    api_url: str | None,
    token: str | None,
    username: str | None,
    timeout: float,
    verbose: bool,
) -> None:
    """Evaluate memo files (.txt, .md; "-" for standard input) and print the feedback.

    Without --api-url the memos are evaluated in this process on the set-up `make
    run` uses (DATA_DIR, its database, the same provider) and kept in the history
    (docs/cli.md says whose). Exit codes:
    0 evaluated, 1 an evaluation failed, 2 usage or input error, 3 service or
    database unreachable, 4 not authorised, 5 timed out, 130 interrupted.
    """
    if username and api_url:
        _fail("--user is for in-process evaluation; with --api-url the token says who.", 2)
    if token and not api_url:
        _fail("--token needs --api-url (in-process evaluation uses --user).", 2)
    try:
        code = _evaluate(files, as_json, api_url, token, username, timeout, verbose)
    except KeyboardInterrupt:
        click.echo("\nmemoai evaluate: interrupted.", err=True)
        code = EXIT_INTERRUPTED
    sys.exit(code)


def _evaluate(
    files: tuple[str, ...],
    as_json: bool,
    api_url: str | None,
    token: str | None,
    username: str | None,
    timeout: float,
    verbose: bool,
) -> int:
    from memoai.config import ConfigError

    # Every file is read first: a typo in the third name must not cost two evaluations.
    texts: list[tuple[str, str]] = []
    problems: list[str] = []
    for name in files:
        try:
            texts.append((name, read_memo(name)))
        except InputError as exc:
            problems.append(exc.message)
    if problems:
        for problem in problems:
            click.echo(f"memoai evaluate: {problem}", err=True)
        click.echo("memoai evaluate: nothing was evaluated.", err=True)
        return EXIT_USAGE

    try:
        if not api_url:
            _quiet_logs(verbose)
        runner = _runner(api_url, token, username)
    except ConfigError as exc:
        click.echo("Configuration error:", err=True)
        for config_problem in exc.problems:
            click.echo(f"  {config_problem}", err=True)
        return EXIT_USAGE
    except CliFailure as exc:
        click.echo(f"memoai evaluate: {exc.message}", err=True)
        return exc.exit_code
    try:
        return _run_all(runner, texts, as_json, timeout)
    finally:
        runner.close()


def _run_all(runner: Runner, texts: list[tuple[str, str]], as_json: bool, timeout: float) -> int:
    memos: list[Memo] = []
    problems: list[str] = []
    for source, text in texts:
        try:
            memos.append(check_memo(source, text, runner.max_length))
        except InputError as exc:
            problems.append(exc.message)
    if problems:
        for problem in problems:
            click.echo(f"memoai evaluate: {problem}", err=True)
        click.echo("memoai evaluate: nothing was evaluated.", err=True)
        return EXIT_USAGE

    width = _width()
    show_bar = sys.stderr.isatty()
    outcomes: list[report.Outcome] = []
    code = EXIT_OK
    for memo in memos:
        try:
            evaluation_id = runner.submit(memo.text)
            with progress_bar(memo.source, show_bar) as progress:
                evaluation = runner.wait(evaluation_id, progress, timeout)
        except CliFailure as exc:
            click.echo(f"memoai evaluate: {memo.source}: {exc.message}", err=True)
            # Unreachable, unauthorised or timed out: the next memos would fare no better.
            outcomes += [report.Outcome(m.source, "not evaluated") for m in memos[len(outcomes) :]]
            code = exc.exit_code
            break
        outcomes.append(report.Outcome(memo.source, evaluation["status"], evaluation))
        if evaluation["status"] != "completed":
            code = EXIT_FAILED
        if as_json:
            click.echo(json.dumps(evaluation, ensure_ascii=False))
        else:
            click.echo(report.render(evaluation, memo.source, width))
    if not as_json and len(memos) > 1:
        click.echo(report.summary(outcomes, width))
    if any(o.evaluation for o in outcomes):
        click.echo(runner.where(), err=True)
    return code
