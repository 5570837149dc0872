"""Prose with inline mathematics: text in which `backticks` enclose an expression in the derivation syntax.

"the fan-in `n[i]` of `W[i, j, k]`" -> [text "the fan-in ", math n[i], text " of ", math W[i, j, k]].
Expressions go through the safe parser, so prose can only ever typeset what a claim could.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .parser import Namespace, ParseError, parse


@dataclass(frozen=True)
class Span:
    text: str
    math: sp.Expr | None = None


def spans(text: str, names: Namespace) -> list[Span]:
    """Split ``text`` at backticks into text and parsed mathematics; ParseError names the column in ``text``."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        raise ParseError("unmatched backtick", text.rfind("`") + 1)
    names = namespace_for_prose(names)
    out, column = [], 1
    for position, part in enumerate(parts):
        if position % 2 == 0:
            if part:
                out.append(Span(part))
        else:
            try:
                out.append(Span(part, parse(part, names, display=True)))
            except ParseError as exc:
                raise ParseError(exc.message, column + (exc.column or 1)) from None
        column += len(part) + 1
    return out


def plain(text: str) -> str:
    """The prose for a terminal: backticks removed, an equation's '==' shown as '='."""
    parts = text.split("`")
    return "".join(part.replace("==", "=") if position % 2 else part for position, part in enumerate(parts))


def namespace_for_prose(names: Namespace) -> Namespace:
    """Prose may also speak of the activation's variable x."""
    if "x" in names.symbols:
        return names
    return Namespace({**names.symbols, "x": sp.Symbol("x", real=True)}, names.indexed)
