#!/usr/bin/env python3
"""Container health probe: `memoai-healthcheck api|web|worker|flower|beat`.

Standard library only and no configuration loading, so a probe costs a few
milliseconds and cannot fail for reasons the service itself would survive.
Exit status 0 means healthy (Docker's HEALTHCHECK contract).
"""

from __future__ import annotations

import glob
import os
import sys
import time
import urllib.request

# Beat persists its schedule every few minutes; a file untouched for longer
# than this means the scheduler loop is stuck or dead.
BEAT_STALE_SECONDS = 600


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except OSError:
        return False


def _port(name: str, default: str) -> str:
    return os.environ.get(name) or default


def check(service: str) -> bool:
    if service == "api":
        return _get(f"http://127.0.0.1:{_port('API_PORT', '8000')}/health")
    if service == "web":
        return _get(f"http://127.0.0.1:{_port('WEB_PORT', '3000')}/health")
    if service == "worker":
        # The metrics server runs in the worker's main process: it answers only
        # while that process is alive.
        return _get(f"http://127.0.0.1:{_port('WORKER_METRICS_PORT', '9808')}/metrics")
    if service == "flower":
        return _get(f"http://127.0.0.1:{_port('FLOWER_PORT', '5555')}/flower/healthcheck")
    if service == "beat":
        data_dir = os.environ.get("DATA_DIR") or "/data"
        files = glob.glob(os.path.join(data_dir, "celerybeat-schedule*"))
        return any(time.time() - os.path.getmtime(f) < BEAT_STALE_SECONDS for f in files)
    print(f"unknown service {service!r}", file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(0 if len(sys.argv) == 2 and check(sys.argv[1]) else 1)
