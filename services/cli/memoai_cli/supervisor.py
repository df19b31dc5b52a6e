"""`memoai stack`: run every service as a child process and stop them together.

Children run in their own sessions so a terminal's Ctrl-C reaches only us; we
then send each child SIGTERM (Celery's warm shutdown, uvicorn's graceful stop),
wait, and SIGKILL whatever is left. If one child dies, the stack stops: a
half-running stack would accept memos that nothing evaluates.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from types import FrameType

import click

from memoai.config import get_settings

GRACE_SECONDS = 25


def _spawn(name: str, *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "memoai_cli.main", *args]
    return name, subprocess.Popen(cmd, start_new_session=True)  # noqa: S603


def run_stack(*, with_web: bool) -> int:
    settings = get_settings()
    migrate = subprocess.run([sys.executable, "-m", "memoai_cli.main", "migrate"], check=False)
    if migrate.returncode != 0:
        return migrate.returncode

    children = [_spawn("api", "api"), _spawn("worker", "worker"), _spawn("beat", "beat")]
    if with_web and importlib.util.find_spec("memoai_web.app") is not None:
        children.append(_spawn("web", "web"))
    names = ", ".join(name for name, _ in children)
    click.echo(
        f"memoai stack: {names} starting - API http://{settings.runtime.api_host}:"
        f"{settings.runtime.api_port}, web http://{settings.runtime.web_host}:"
        f"{settings.runtime.web_port}. Ctrl-C stops everything.",
        err=True,
    )

    stopping = False

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    exit_code = 0
    while not stopping:
        for name, proc in children:
            code = proc.poll()
            if code is not None:
                click.echo(f"memoai stack: {name} exited with {code}; stopping.", err=True)
                exit_code = code or 1
                stopping = True
                break
        time.sleep(0.3)

    for _name, proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"memoai stack: {name} did not stop in time; killing.", err=True)
            proc.kill()
            proc.wait()
    click.echo("memoai stack: stopped.", err=True)
    return exit_code
