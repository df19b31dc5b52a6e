"""CPU and memory of every process class, read from /proc.

One scan of /proc/*/stat gives each process's name, parent, CPU ticks and RSS;
the classes are the stack's process trees (api with its uvicorn children,
worker, beat), the fake model, the load generator itself, and every
`postgres` and `redis-server` process on the machine (found by name: they are
shared with anything else using those servers, said so in the docs).
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(frozen=True)
class Proc:
    comm: str
    ppid: int
    cpu: float  # seconds: own user + system
    reaped: float  # seconds of children already waited for (cutime + cstime)
    rss_mb: float


def scan() -> dict[int, Proc]:
    procs: dict[int, Proc] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        f = raw[raw.rindex(")") + 2 :].split()
        procs[int(entry.name)] = Proc(
            comm=comm,
            ppid=int(f[1]),
            cpu=(int(f[11]) + int(f[12])) / TICK,
            reaped=(int(f[13]) + int(f[14])) / TICK,
            rss_mb=int(f[21]) * PAGE_MB,
        )
    return procs


def _tree(procs: dict[int, Proc], root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for pid, p in procs.items():
        children[p.ppid].append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            out.append(pid)
            todo.extend(children[pid])
    return out


def classify(procs: dict[int, Proc], roots: dict[str, int]) -> dict[str, list[int]]:
    """Class name -> pids. `roots` maps a class (or "worker-2" style key) to a tree root."""
    classes: dict[str, list[int]] = defaultdict(list)
    for key, root in roots.items():
        classes[key.split("-")[0]].extend(_tree(procs, root))
    classes["load_generator"] = [os.getpid()]
    classes["postgres"] = [pid for pid, p in procs.items() if p.comm == "postgres"]
    classes["redis"] = [pid for pid, p in procs.items() if p.comm.startswith("redis-server")]
    return dict(classes)


def cpu_by_class(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far per class, including children already reaped.

    Reaped children count because Postgres backends and uvicorn workers that
    exit are folded into their parent's cutime; the load generator's own
    children are the stack itself, so only its own time counts.
    """
    procs = scan()
    me = os.getpid()
    return {
        name: sum(procs[p].cpu + (0 if p == me else procs[p].reaped) for p in pids)
        for name, pids in classify(procs, roots).items()
    }


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    # A process that exited unreaped loses its ticks: never report negative time.
    return {k: round(max(0.0, v - before.get(k, 0.0)), 2) for k, v in after.items()}


class RssSampler(threading.Thread):
    """Peak resident memory per stack process and per class, sampled twice a second."""

    def __init__(self, roots: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.peak: dict[str, float] = defaultdict(float)  # per key: api, worker-2 …
        self.peak_class: dict[str, float] = defaultdict(float)  # worker = all worker processes
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            procs = scan()
            by_class: dict[str, float] = defaultdict(float)
            for key, root in self.roots.items():
                total = sum(procs[p].rss_mb for p in _tree(procs, root))
                self.peak[key] = max(self.peak[key], total)
                by_class[key.split("-")[0]] += total
            for name, total in by_class.items():
                self.peak_class[name] = max(self.peak_class[name], total)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, everything on it)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    # guest time is already inside user; counting only the first 8 fields avoids it twice
    return (sum(fields[:8]) - idle) / TICK


CALIBRATION_LOOP = 1_000_000


def calibration_ms(rounds: int = 5) -> float:
    """CPU ms of a fixed pure-Python loop (median of `rounds`): how fast this
    machine runs Python right now. On a shared host the same code costs more
    CPU per request when a neighbour loads the physical cores (seen here: 2×
    between two minutes of the same day), so CPU figures of runs on different
    days compare only after dividing by this."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        total = 0
        for i in range(CALIBRATION_LOOP):
            total += i * i
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 1)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def ensure_open_files(needed: int) -> tuple[int, int]:
    """Raise the soft open-files limit towards `needed` (sockets); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < needed:
        print(f"warning: ulimit -n is {soft}, {needed} sockets wanted", flush=True)
    return soft, hard
