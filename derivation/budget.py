"""One budget for a whole run of the command line: time and memory, whatever the input asks for.

Per-step limits (kernel.timelimit) bound one rule's time; nothing else bounded parsing, the comparison, quiz
judging, or the memory a computation takes, nor the sum of many steps. :func:`limited` bounds the whole run:

  time     the process's CPU time (``RLIMIT_CPU``: the kernel sends SIGXCPU at the soft limit, and kills the process
           at the hard limit, a few seconds later, should the signal not be acted on), and the wall-clock time,
           measured by a watchdog thread that signals the main thread when the run's deadline passes. Time spent
           waiting for the user (quiz and explain read answers; see :func:`waiting`) does not count. Either raises
           :class:`BudgetExceeded` in the main thread;
  memory   the address space (``RLIMIT_AS``): an allocation beyond it fails, and Python raises MemoryError.

The command line turns both into one line and exit 2. The defaults are generous (the built-in derivations with
``verify --sample --samples 1000000`` need about 20 s and 1.2 GB); ``DERIVATION_TIME_LIMIT`` (seconds) and
``DERIVATION_MEMORY_LIMIT`` (megabytes) change them, 0 for none.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_SECONDS = 600
DEFAULT_MEGABYTES = 6144
TIME_VARIABLE, MEMORY_VARIABLE = "DERIVATION_TIME_LIMIT", "DERIVATION_MEMORY_LIMIT"
GRACE_SECONDS = 10          # after the soft CPU limit, before the kernel kills the process
HEADROOM = 1 << 30          # memory above what the process already has, at least (main() called in a process)


class BudgetExceeded(BaseException):
    """The run's time is spent. A BaseException, like KeyboardInterrupt: no ``except Exception`` in SymPy or the
    kernel (which turns its own errors into verdicts) can take it for a failure of one computation."""


@dataclass(frozen=True)
class Budget:
    seconds: float          # 0: unbounded
    megabytes: int          # 0: unbounded

    def describe(self) -> str:
        return f"{self.seconds:g} s" if self.seconds else "unbounded"


def from_environment(environ=os.environ) -> Budget | str:
    """The budget the environment sets (or the defaults), or what is wrong with the variables."""
    values = []
    for name, default, kind in ((TIME_VARIABLE, DEFAULT_SECONDS, float), (MEMORY_VARIABLE, DEFAULT_MEGABYTES, int)):
        text = environ.get(name, "").strip()
        try:
            value = kind(text) if text else default
        except ValueError:
            return f"{name} must be a number (got {text[:40]!r})"
        if not (math.isfinite(value) and 0 <= value <= 10**7):
            return f"{name} must be between 0 (no limit) and 10000000"
        values.append(value)
    return Budget(*values)


_state = threading.local()


@contextmanager
def waiting():
    """The body waits for the user (reads an answer): its time does not count against the wall-clock budget."""
    watchdog = getattr(_state, "watchdog", None)
    if watchdog is None:
        yield
        return
    watchdog.pause()
    try:
        yield
    finally:
        watchdog.resume()


class _Watchdog(threading.Thread):
    """Signals the main thread (SIGXCPU, as the CPU limit does) once the deadline passes, then every second."""

    def __init__(self, seconds: float):
        super().__init__(name="derivation-budget", daemon=True)
        self.deadline = time.monotonic() + seconds
        self.paused_at: float | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.target = threading.main_thread().ident

    def pause(self) -> None:
        with self.lock:
            self.paused_at = time.monotonic()

    def resume(self) -> None:
        with self.lock:
            if self.paused_at is not None:
                self.deadline += time.monotonic() - self.paused_at
                self.paused_at = None

    def run(self) -> None:
        while not self.stopped.is_set():
            with self.lock:
                left = None if self.paused_at is not None else self.deadline - time.monotonic()
            if left is not None and left <= 0:
                signal.pthread_kill(self.target, signal.SIGXCPU)
            self.stopped.wait(min(left, 1.0) if left is not None and left > 0 else 1.0)

    def stop(self) -> None:
        self.stopped.set()


@contextmanager
def limited(budget: Budget, process: bool = False):
    """Run the body within ``budget``; raise BudgetExceeded when its time is spent. With ``process`` (the command
    line's own process), the hard CPU limit is lowered too, so that even a computation that never returns to the
    interpreter is ended; otherwise the limits are restored afterwards (main() called inside another program)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGXCPU"):
        yield                   # signals reach only the main thread: run unbounded, as the kernel's limits do
        return
    previous_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    previous_as = resource.getrlimit(resource.RLIMIT_AS)

    def spent(signum, frame):
        raise BudgetExceeded(budget.seconds)

    previous_handler = signal.signal(signal.SIGXCPU, spent)
    watchdog = None
    try:
        if budget.seconds:
            used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
            soft = math.ceil(used + budget.seconds)
            hard = soft + GRACE_SECONDS if process else previous_cpu[1]
            _set(resource.RLIMIT_CPU, soft, hard, previous_cpu)
            watchdog = _Watchdog(budget.seconds)
            watchdog.start()
            _state.watchdog = watchdog
        if budget.megabytes:
            floor = 0 if process else _address_space() + HEADROOM       # a caller's own memory is not the run's
            _set(resource.RLIMIT_AS, max(budget.megabytes << 20, floor), previous_as[1], previous_as)
        yield
    finally:
        if watchdog is not None:
            watchdog.stop()
            _state.watchdog = None
        if process:             # the run is over, what is left is to say how it ended: no more SIGXCPU
            signal.signal(signal.SIGXCPU, signal.SIG_IGN)
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            _restore(resource.RLIMIT_CPU, (hard, hard))
        else:
            _restore(resource.RLIMIT_AS, previous_as)
            _restore(resource.RLIMIT_CPU, previous_cpu)
            signal.signal(signal.SIGXCPU, previous_handler)


def _restore(kind: int, limits: tuple[int, int]) -> None:
    try:
        resource.setrlimit(kind, limits)
    except (ValueError, OSError):
        pass


def _set(kind: int, soft: int, hard: int, previous: tuple[int, int]) -> None:
    """Set a limit no looser than it was (a limit the caller already has stays)."""
    infinity = resource.RLIM_INFINITY
    if previous[1] != infinity:
        hard = previous[1] if hard == infinity else min(hard, previous[1])
    if previous[0] != infinity:
        soft = min(soft, previous[0])
    if hard != infinity:
        soft = min(soft, hard)
    _restore(kind, (soft, hard))


def _address_space() -> int:
    """The process's current address space in bytes (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
