"""What can be computed about a claim that differs from what its rule derives, beyond the difference: shared by
``verify`` (a hint under a failing step) and ``quiz`` (feedback on a wrong answer). Never a verdict: only words.
"""

from __future__ import annotations

import difflib
from typing import Collection

import sympy as sp

from .kernel.compare import compare
from .kernel.timelimit import TimeLimitExceeded, time_limit
from .printing import plain

SECONDS = 5          # one diagnosis: the comparison of the exchanged claim with what the rule derived
SIZES = ("n",)       # the layer-size family the quiz knows (fan-in n[i], fan-out n[i+1])


def swapped_sizes(claimed: sp.Expr, correct: sp.Expr, sizes: Collection[str] = SIZES) -> tuple[sp.Expr, sp.Expr] | None:
    """The two sizes (``n[i]``, ``n[i + 1]``) whose exchange in ``claimed`` makes it equal to ``correct``, when
    ``claimed`` and ``correct`` together use exactly two sizes of one family (one of ``sizes``); else None.
    A claim that the exchange leaves unchanged (``2/(n[i] + n[i+1])``) is never said to be swapped."""
    for name in sorted(sizes):
        found = sorted({a for e in (claimed, correct) for a in e.atoms(sp.Indexed) if a.base.name == name},
                       key=lambda a: (sp.count_ops(a.indices), sp.default_sort_key(a)))      # n[i] before n[i + 1]
        if len(found) != 2:
            continue
        first, second = found
        exchanged = claimed.xreplace({first: second, second: first})
        if exchanged != claimed and _equal(correct, exchanged):
            return first, second
    return None


def swapped_fans(claimed: sp.Expr, correct: sp.Expr, sizes: Collection[str] = SIZES) -> str | None:
    """When exchanging two sizes in ``claimed`` gives ``correct``: ``n[i] and n[i + 1] are swapped`` if the claim
    uses both, else ``n[i + 2] where the rule derives n[i + 1]`` (one size in place of another, as a missing
    re-index writes it, is not a swap); None otherwise."""
    pair = swapped_sizes(claimed, correct, sizes)
    if pair is None:
        return None
    used = claimed.atoms(sp.Indexed)
    if all(size in used for size in pair):
        return f"{plain(pair[0])} and {plain(pair[1])} are swapped"
    wrong, right = pair if pair[0] in used else pair[::-1]
    return f"{plain(wrong)} where the rule derives {plain(right)}"


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """``; did you mean 'verify'?`` for the choice closest to a mistyped ``word`` (difflib's ratio >= 0.6), or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Shown equal within SECONDS; anything SymPy cannot decide in time, or cannot compare, is not."""
    try:
        with time_limit(SECONDS) as limit:
            return compare(a, b).equal
    except TimeLimitExceeded as exc:
        if exc.limit is not limit:
            raise                         # an outer limit (the quiz's, the run's): not ours to swallow
        return False
    except (ArithmeticError, TypeError, ValueError, AttributeError, NotImplementedError, RecursionError):
        return False
