"""System tools the operations checks drive (Debian packages, scripts/install-system-deps.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.services import unavailable
from tests.support.stack import _SCRUB, REPO

INFRA = REPO / "infra"
# The Compose schema is read from the shared folder beside the repository; it is
# deliberately not copied into the repo.
COMPOSE_SCHEMA = REPO.parent / "shared" / "schemas" / "compose-spec.json"


def require(tool: str) -> str:
    """Absolute path of `tool`; skip locally, fail under CI=true when it is missing."""
    path = shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        unavailable(tool, "not installed; run scripts/install-system-deps.sh")
    assert path is not None
    return path


def run(
    *args: str | Path, timeout: float = 60, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


def clean_env(**overrides: str) -> dict[str, str]:
    """The repository's configuration with nothing from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.endswith("_THRESHOLD")}
    env.update(CONFIG_DIR=str(REPO / "config"), APP_ENV="development", **overrides)
    return env
