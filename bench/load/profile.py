"""`--profile`: py-spy samples the API during the main phase; top frames by own time.

py-spy attaches with ptrace (allowed for our own children here) and samples
without pausing the process (`--nonblocking`), every uvicorn worker included
(`--subprocesses`). Raw output is one line per distinct stack, "a;b;c count":
the last frame is where the sample was taken, so counting last frames gives
own time. `--gil` keeps only samples that hold the GIL, so threads waiting
on a lock or a socket do not pose as work.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_PROCESS_ROOT = re.compile(r'^process \d+:"[^"]*"(;|$)')


def py_spy() -> str | None:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


def start(pid: int, seconds: float, out: Path, rate: int = 100) -> subprocess.Popen[bytes] | None:
    exe = py_spy()
    if exe is None:
        print("--profile: py-spy not installed (make install adds it)", flush=True)
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid", str(pid),
            "--duration", str(max(1, int(seconds))),
            "--rate", str(rate),
            "--format", "raw",
            "--nonblocking",
            "--gil",  # only samples holding the GIL: Python's own CPU, not waits
            "--subprocesses",
            "--output", str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def top_frames(raw: str, n: int = 10) -> list[tuple[str, int, float]]:
    """(frame, samples, share of all samples) for the `n` frames with most own time."""
    own: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # The root frame names the process by its command line, which may
        # itself hold ";" (multiprocessing's spawn_main): cut it off whole.
        frames = _PROCESS_ROOT.sub("", stack).split(";") if stack else []
        frames = [f for f in frames if f]
        if frames:  # a bare "process N" root has no Python frame to blame
            own[frames[-1]] += int(count)
    total = sum(own.values()) or 1
    return [(frame, c, c / total) for frame, c in own.most_common(n)]


def finish(proc: subprocess.Popen[bytes] | None, out: Path) -> dict[str, Any] | None:
    if proc is None:
        return None
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if not out.exists():
        message = err.decode(errors="replace").strip()[-500:]
        print(f"--profile: py-spy wrote nothing ({message})", flush=True)
        return {"error": message}
    top = top_frames(out.read_text())
    return {
        "raw_file": str(out),
        "top_own_time": [{"frame": f, "samples": c, "share": round(s, 3)} for f, c, s in top],
    }
