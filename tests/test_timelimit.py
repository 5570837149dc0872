"""The wall-clock bound on symbolic work (kernel.timelimit): it ends a body that swallows its first alarm, and a
nested bound neither lifts nor extends the outer one."""

import gc
import time

import pytest

from derivation.kernel.timelimit import TimeLimitExceeded, time_limit


def _spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_body_that_swallows_the_first_alarm_is_still_ended():
    """The first TimeLimitExceeded is caught inside the body (as an ``except Exception`` in a library, or Python
    ignoring it in a gc callback, would); the repeated alarm ends the body anyway, long before its 5 s."""
    start = time.monotonic()
    swallowed = 0
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.1):
            try:
                _spin(5)
            except TimeLimitExceeded:
                swallowed += 1
            _spin(5)
    assert swallowed == 1 and time.monotonic() - start < 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")      # the ignored alarms, expected
def test_an_alarm_raised_inside_a_gc_callback_does_not_end_the_bound():
    """Python ignores (and reports) an exception raised in a gc callback; the bound must still end the body."""
    def slow_callback(phase, info):
        if phase == "start":
            _spin(0.2)
    gc.callbacks.append(slow_callback)
    start = time.monotonic()
    try:
        with pytest.raises(TimeLimitExceeded):
            with time_limit(0.05):
                for _ in range(3):      # the first alarm lands in a callback, and is ignored
                    gc.collect()
                _spin(5)
    finally:
        gc.callbacks.remove(slow_callback)
    assert time.monotonic() - start < 3


def test_an_inner_bound_keeps_the_outer_one():
    """Inside a 0.3 s bound, a 10 s inner bound that ends normally must not lift the outer deadline."""
    start = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.3):
            with time_limit(10):
                _spin(0.05)
            _spin(5)
    assert time.monotonic() - start < 2


def test_an_inner_bound_is_cut_to_the_outer_deadline():
    start = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.2):
            with time_limit(10):
                _spin(5)
    assert time.monotonic() - start < 2


def test_a_body_within_its_bound_runs_to_the_end_and_leaves_no_alarm():
    with time_limit(1):
        _spin(0.01)
    _spin(1.2)          # an alarm left armed would raise here
