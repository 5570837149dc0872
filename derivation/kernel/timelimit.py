"""A wall-clock bound for work on untrusted input (SymPy can take unbounded time on odd input): the one SIGALRM
timer of the process, shared by the kernel's per-step bound and the parser's, quiz's and explainer's bounds."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

# After a deadline the alarm repeats at this interval until the body has left: an exception raised where Python
# ignores it (a gc callback, a __del__ method) or a body's own ``except Exception`` would otherwise end the bound.
REPEAT_SECONDS = 0.05


class TimeLimitExceeded(Exception):
    """A bound expired; ``limit`` says which one (the object ``with time_limit(s) as limit`` gave)."""

    def __init__(self, limit: object = None):
        super().__init__()
        self.limit = limit


@contextmanager
def time_limit(seconds: float):
    """Raise TimeLimitExceeded if the body runs longer than ``seconds``.

    SIGALRM, so it bounds only in the main thread on POSIX; elsewhere the body runs unbounded. Nested in another
    bound, it keeps that one: when the outer bound expires first it is left running and its exception goes past
    (``except TimeLimitExceeded as exc`` may check ``exc.limit``); otherwise the outer timer is re-armed, for what
    remains of it, when the body leaves."""
    limit = object()
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    outer_left, outer_repeat = signal.getitimer(signal.ITIMER_REAL) if usable else (0.0, 0.0)
    if not usable or (outer_left and outer_left <= seconds):
        yield limit
        return

    def expire(signum, frame):
        raise TimeLimitExceeded(limit)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)
    try:
        yield limit
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:          # the outer bound goes on with what is left of it (at once if that is past)
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 1e-3), outer_repeat)
