"""The soak's processes: a child that can be killed and started again, and the memory of a
process tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from bench import _common as c


# --- processes ---------------------------------------------------------------------------------
def celery_args(*args: str) -> list[str]:
    return [os.path.join(os.path.dirname(c.PYTHON), "celery"), "-A", "scrm", *args]


class Restartable:
    """A child in its own process group that can be killed (SIGKILL, the whole group) and
    started again; ``stop`` ends it with SIGTERM as ``c.subprocess_running`` does."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> int:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.args,
                cwd=c.ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.proc.pid

    def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)  # the main process: a warm shutdown
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def rss_tree(roots: dict[str, int]) -> dict[str, int]:
    """{process name: VmRSS kB} for each root and its children (``name/child n``)."""
    out = {}
    for name, pid in roots.items():
        out[name] = rss_kb(pid)
        for n, child in enumerate(sorted(_children(pid)), 1):
            out[f"{name} / child {n}"] = rss_kb(child)
    return out


def server_pid(port: int) -> int:
    """The uvicorn process listening on ``port`` (the supervisor when it runs workers)."""
    target = f":{port:04X}"
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1].endswith(target) and parts[3] == "0A":  # LISTEN
                inodes.add(parts[9])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry)
    raise RuntimeError(f"no process listens on port {port}")


def _role(pid: int, own: int) -> str:
    if pid == own:
        return "bench (simulator, clients)"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "uvicorn" in cmd:
        return "uvicorn"
    if "celery" in cmd:
        return "celery beat" if " beat" in cmd else "celery worker"
    if cmd.startswith("postgres") or "/postgres " in cmd:
        return "PostgreSQL"
    if "redis-server" in cmd:
        return "Redis"
    return "other"


class CpuMeter:
    """CPU seconds (user + system) by role over a run, from ``/proc``: every process of the
    machine, sampled with ``take`` (every few seconds). A process that ends between two samples
    is counted by its parent once reaped (the parent's children's time, less what the samples
    had counted of the children that ended): a PostgreSQL session opened and closed between
    two samples counts as PostgreSQL's, as a killed worker's last interval as its parent's."""

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        self.seen: dict[int, float] = {}
        self.reaped: dict[int, float] = {}  # pid: its children's CPU seconds, ended and waited for
        self.parents: dict[int, int] = {}
        self.roles: dict[int, str] = {}
        self.used: dict[str, float] = {}
        self.started = time.monotonic()
        self.first = True

    def take(self) -> None:
        own = os.getpid()
        now: dict[int, float] = {}
        reaped: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with (
                contextlib.suppress(OSError, IndexError, ValueError),
                open(f"/proc/{entry}/stat") as f,
            ):
                fields = f.read().rsplit(")", 1)[1].split()
                pid = int(entry)
                now[pid] = (int(fields[11]) + int(fields[12])) / self.tick
                reaped[pid] = (int(fields[13]) + int(fields[14])) / self.tick
                self.parents[pid] = int(fields[1])  # as now: an orphan's is its new reaper
        # What the samples counted of processes that ended since the last: their parents'
        # children's time already holds it.
        counted_before: dict[int, float] = {}
        for pid, seconds in self.seen.items():
            if pid not in now:
                parent = self.parents.get(pid, 0)
                if parent not in now:  # its parent ended too: the orphan went to init to reap
                    parent = 1
                counted = seconds + self.reaped.get(pid, 0.0)
                counted_before[parent] = counted_before.get(parent, 0.0) + counted
        for pid, seconds in now.items():
            if pid not in self.roles:
                self.roles[pid] = _role(pid, own)
            role = self.roles[pid]
            # A process first seen after the first sample started within the interval.
            before = self.seen.get(pid, seconds if self.first else 0.0)
            gained = max(0.0, seconds - before)
            if not self.first and pid in self.reaped:
                children = reaped[pid] - self.reaped[pid] - counted_before.get(pid, 0.0)
                gained += max(0.0, children)
            self.used[role] = self.used.get(role, 0.0) + gained
        self.seen, self.reaped = now, reaped
        for pid in [p for p in self.parents if p not in now]:
            del self.parents[pid]
        if self.first:
            self.started = time.monotonic()
            self.first = False

    def result(self) -> dict[str, float]:
        """{role: CPU seconds}, and "wall s" the time between the first and last sample."""
        return {**self.used, "wall s": time.monotonic() - self.started}
