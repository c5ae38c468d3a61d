"""Run one command with a hard timeout and measure its wall time and peak memory.

Peak memory is that of the whole process tree, which matters for tools that fan out
(sessionlint's worker pool, semgrep's OCaml core, Fixit's multiprocessing):

* the exact high-water mark of the largest single process, from ``wait4``'s
  ``ru_maxrss`` (the same figure ``/usr/bin/time -f %M`` prints), and
* the sum of PSS (proportional set size: a page shared by n processes counts 1/n
  in each, so forked workers are not double-counted) over every process of the
  command's process group, sampled every ``SAMPLE_EVERY`` seconds from /proc
  (catches workers running side by side; may miss a spike shorter than the
  interval).

The reported peak is the larger of the two. Each command runs in its own process
group (a fresh session), so a timeout kills the command and everything it started,
and nothing else.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_EVERY = 0.05  # seconds between /proc samples (one scan costs ~2 ms of CPU)


@dataclass
class Run:
    """One execution of a command."""

    wall: float  # seconds
    peak_kib: int  # max(largest process's maxrss, sampled sum over the process group)
    returncode: int | None  # None when it was killed for timing out
    timed_out: bool = False
    output_tail: str = ""  # last lines of stdout+stderr, for error messages


@dataclass
class Measurement:
    """Several runs of one command: the median wall time and the largest peak."""

    runs: list[Run] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not any(r.timed_out for r in self.runs)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def peak_mib(self) -> float:
        return max(r.peak_kib for r in self.runs) / 1024

    @property
    def problem(self) -> str | None:
        for run in self.runs:
            if run.timed_out:
                return f"timed out after {run.wall:.0f} s"
        return None


def _group_pss_kib(pgid: int) -> int:
    """Sum of PSS over the live processes of process group `pgid` (0 if none)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # the process ended while we looked
            continue
        # Fields after the command name (which may contain spaces and parentheses).
        fields = stat[stat.rfind(b")") + 2:].split()
        # fields[0] is field 3 (state); pgrp is field 5.
        if int(fields[2]) == pgid:
            total += _pss_kib(entry.name)
    return total


def _pss_kib(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_once(command: list[str], *, timeout: float, env: dict[str, str] | None = None,
             cwd: str | Path | None = None) -> Run:
    """Run `command` once; never raises for the command's own failure or timeout."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   env=env, cwd=cwd, start_new_session=True)
        pgid = process.pid  # start_new_session: the child leads its own group
        sampled = [0]
        done = threading.Event()
        killed = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_EVERY):
                sampled[0] = max(sampled[0], _group_pss_kib(pgid))

        def kill() -> None:
            killed.set()
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            wall = time.perf_counter() - started
            timer.cancel()
            done.set()
            sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if killed.is_set():
            # The group may have survivors that outlived its leader: end them too.
            kill()
        output.seek(0)
        tail = output.read()[-3000:].decode("utf-8", "replace")
    return Run(wall=wall, peak_kib=max(usage.ru_maxrss, sampled[0]),
               returncode=None if killed.is_set() else process.returncode,
               timed_out=killed.is_set(), output_tail=tail)


def measure(command: list[str], runs: int, *, timeout: float, before=None, env: dict[str, str] | None = None,
            cwd: str | Path | None = None, expect_codes: tuple[int, ...] = (0,)) -> Measurement:
    """Run `command` `runs` times (calling `before()` ahead of each); stop at the first
    timeout (more runs would only time out too). Raises `CommandFailed` when the
    command exits with a status outside `expect_codes`: a tool that errors out has
    not done the work, and its time would be a lie."""
    result = Measurement()
    for _ in range(runs):
        if before is not None:
            before()
        run = run_once(command, timeout=timeout, env=env, cwd=cwd)
        result.runs.append(run)
        if run.timed_out:
            break
        if run.returncode not in expect_codes:
            raise CommandFailed(command, run)
    return result


class CommandFailed(Exception):
    def __init__(self, command: list[str], run: Run) -> None:
        self.command = command
        self.run = run
        super().__init__(f"`{' '.join(command[:6])}{' ...' if len(command) > 6 else ''}` exited with status "
                         f"{run.returncode}; its output ended with:\n{run.output_tail[-1500:]}")
