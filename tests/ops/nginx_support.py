"""Run Debian's nginx on the repository's configuration, unprivileged and isolated.

The configuration names its upstreams as Compose services (api, web, flower),
and nginx resolves them when it loads. The check runs nginx in a private mount
namespace whose /etc/hosts maps those names to 127.0.0.1, as Docker's DNS maps
them to containers, so the shipped file is tested unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.ops.tools import INFRA, require, run
from tests.support.services import unavailable

NGINX_DIR = INFRA / "nginx"
UPSTREAM_HOSTS = ("api", "web", "flower")


def prepare_prefix(root: Path) -> Path:
    """A copy of infra/nginx with a fresh certificate, an htpasswd file and mime.types."""
    prefix = root / "nginx"
    shutil.copytree(NGINX_DIR, prefix, ignore=shutil.ignore_patterns("certs"))
    result = run("bash", NGINX_DIR / "gen-cert.sh", prefix / "certs", "memoai.test")
    assert result.returncode == 0, result.stderr
    mime = Path("/etc/nginx/mime.types")
    if not mime.exists():
        unavailable("nginx mime.types", "Debian's nginx package is not installed")
    shutil.copy(mime, prefix / "mime.types")
    (prefix / "htpasswd").mkdir()
    hashed = run("openssl", "passwd", "-apr1", "flower-test-password").stdout.strip()
    (prefix / "htpasswd" / "flower").write_text(f"ops:{hashed}\n")
    (prefix / "hosts").write_text(
        "127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {h}\n" for h in UPSTREAM_HOSTS)
    )
    return prefix


def namespace_command(prefix: Path, *nginx_args: str) -> list[str]:
    """nginx inside a mount namespace whose /etc/hosts knows the Compose service names."""
    nginx = require("nginx")
    unshare = require("unshare")
    inner = (
        f'mount --bind "{prefix}/hosts" /etc/hosts && exec "{nginx}" -p "{prefix}/" '
        f'-c "{prefix}/nginx.conf" -e "{prefix}/error.log" ' + " ".join(nginx_args)
    )
    # As root a mount namespace is enough; otherwise a user namespace maps us to
    # root inside it (no real privilege is gained).
    flags = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user", *flags]
    return [unshare, *flags, "sh", "-c", inner]


def nginx_test(prefix: Path, *, dump: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["-T" if dump else "-t", "-g", f"'pid {prefix}/nginx.pid;'"]
    result = run(*namespace_command(prefix, *args))
    if result.returncode != 0 and "unshare failed" in result.stderr:
        unavailable("mount namespaces", result.stderr.strip())
    return result


def serve_locally(prefix: Path, *, http: int, https: int, upstreams: dict[str, int]) -> None:
    """Point the copied configuration at free local ports, to run it for real.

    Only the listen ports and the upstream ports change; every location,
    header and limit is the shipped configuration's.
    """
    conf = prefix / "nginx.conf"
    text = conf.read_text()
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{http} default_server;")
    text = text.replace(
        "listen 443 ssl http2 default_server;",
        f"listen 127.0.0.1:{https} ssl http2 default_server;",
    )
    text = text.replace("listen [::]:80 default_server;", "")
    text = text.replace("listen [::]:443 ssl http2 default_server;", "")
    for host, port in upstreams.items():
        text, count = re.subn(rf"server {host}:\d+", f"server {host}:{port}", text)
        assert count == 1, host
    conf.write_text(text)


@contextmanager
def running_nginx(prefix: Path, http: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground (in its namespace) until the block ends."""
    # `user root`: inside a user namespace only root is mapped, so workers stay root.
    args = ["-g", f"'daemon off; pid {prefix}/nginx.pid; user root;'"]
    log = (prefix / "nginx.out").open("ab")
    proc = subprocess.Popen(
        namespace_command(prefix, *args), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                output = (prefix / "nginx.out").read_text(errors="replace")
                if "unshare failed" in output:
                    unavailable("mount namespaces", output.strip())
                raise RuntimeError(f"nginx exited with {proc.returncode}:\n{output[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{http}/nginx-health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (prefix / "nginx.out").read_text()[-3000:]
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
