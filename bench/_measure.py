"""Running a command and measuring it: wall time and the peak resident memory of its whole
process tree (sampled from /proc every 0.1 s, so worker processes count too)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in KiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm", encoding="ascii") as f:
                rss[int(entry)] = int(f.read().split()[1]) * PAGE_KB
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``command``; return (seconds, peak MB of the process tree). Fails loudly."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        # the whole error output is kept: a JVM's cause is often far above its last lines
        with tempfile.NamedTemporaryFile(
            "w", prefix="medler-bench-", suffix=".log", delete=False, encoding="utf-8"
        ) as log:
            log.write(err)
        raise SystemExit(
            f"{' '.join(command[:4])} … failed ({process.returncode}): "
            f"{err[-500:]}\n(all of its error output: {log.name})"
        )
    return elapsed, peak / 1024


def timed(runs: int, call: Callable[[int], object], *, warm_up: bool = True) -> list[float]:
    """Wall seconds of ``call(run)`` for each of ``runs`` runs, after one ``call(-1)``."""
    if warm_up:
        call(-1)
    times = []
    for run in range(runs):
        started = time.perf_counter()
        call(run)
        times.append(time.perf_counter() - started)
    return times


def research_data(
    description: str,
    *,
    weeks: int = 8,
    runs: int = 15,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[argparse.Namespace, Path]:
    """The command line the release benchmarks share (``--students``, ``--weeks``, ``--dir``,
    ``--runs``, and what ``options`` adds) and the data directory of ``bench_build.py``'s
    prepared municipality of that size, its research tables built once."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=weeks)
    parser.add_argument("--dir", type=Path, required=True, help="bench_build.py's scratch folder")
    parser.add_argument("--runs", type=int, default=runs)
    if options is not None:
        options(parser)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_build import prepare  # the same prepared municipality as the build benchmark

    data = prepare(args.dir, args.students, args.weeks)
    if not (data / "research" / "CURRENT").exists():
        subprocess.run(
            [sys.executable, "-m", "api.cli", "build", "--data-dir", str(data)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return args, data
