"""Run Debian's nginx on the repository's configuration, unprivileged and isolated.

The configuration names its upstreams as Compose services (api, web, flower),
and nginx resolves them when it loads. The check runs nginx in a private mount
namespace whose /etc/hosts maps those names to 127.0.0.1, as Docker's DNS maps
them to containers, so the shipped file is tested unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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
