"""Command line: argument parsing and exit codes only.

0 verified (and written); 1 a step or assumption fails, or a document could not be built; 2 bad input or
usage; 3 a tool the command needs (pdflatex) is not installed.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_MISSING_TOOL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="derivation",
        description="Machine-check a mathematical derivation step by step with SymPy.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verify = commands.add_parser("verify", help="verify a derivation, step by step")
    verify.add_argument("derivation", nargs="?", default="glorot",
                        help="a built-in name (see `list`) or a path to a .toml file (default: glorot)")
    verify.add_argument("--activation", metavar="F",
                        help="tanh, sigmoid, relu, identity, softsign, or an expression in x such as 'sin(x)' "
                             "(default: the derivation's own)")
    verify.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    commands.add_parser("list", help="name the built-in derivations")
    witness = commands.add_parser("witness", help="check every rule's identity exactly and by Monte Carlo")
    witness.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    witness.add_argument("--samples", type=int, default=400_000, help="Monte Carlo samples (default: 400000)")
    render = commands.add_parser("render", help="write the verified derivation as a document")
    render.add_argument("derivation", nargs="?", default="glorot",
                        help="a built-in name or a path to a .toml file (default: glorot)")
    render.add_argument("--format", nargs="+", default=["pdf"], choices=["pdf", "tex", "md", "html"],
                        metavar="FORMAT", help="one or more of pdf (with its .tex), tex, md, html (default: pdf)")
    render.add_argument("--out", default="build", metavar="DIR", help="output directory (default: build)")
    render.add_argument("--activation", metavar="F", help="as for verify")
    render.add_argument("--allow-unverified", action="store_true",
                        help="render even if a step fails, marking the failures on the page")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    try:
        if args.command == "list":
            return _list()
        if args.command == "render":
            return _render(args)
        if args.command == "witness":
            return _witness(args)
        return _verify(args)
    except _user_errors() as exc:
        print(f"derivation: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _user_errors() -> tuple[type[Exception], ...]:
    from .assumptions import ActivationError
    from .loader import LoadError
    return LoadError, ActivationError


def _list() -> int:
    from .loader import builtin_names, load
    from .prose import plain
    from .report import list_report
    from .rules import RULES
    arities = {name: r.arity for name, r in RULES.items()}
    entries = []
    for name in builtin_names():
        d = load(name, arities)
        entries.append((name, f"{d.title}: {plain(d.summary)}" if d.summary else d.title))
    print(list_report(entries))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from .loader import load
    from .report import json_report, text_report
    from .rules import RULES
    from .verify import verify
    derivation = load(args.derivation, {name: r.arity for name, r in RULES.items()})
    result = verify(derivation, args.activation)
    if args.json:
        print(json_report(result))
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        print(text_report(result, colour))
    return EXIT_OK if result.ok else EXIT_FAILED


def _render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .loader import load
    from .render import RenderError, TexMissing, render
    from .report import failure_lines
    from .rules import RULES
    from .verify import verify
    derivation = load(args.derivation, {name: r.arity for name, r in RULES.items()})
    result = verify(derivation, args.activation)
    if not result.ok and not args.allow_unverified:
        print(f"derivation: not rendered: {derivation.path} does not verify "
              f"({result.verified}/{len(result.steps)} steps); fix it, or pass --allow-unverified", file=sys.stderr)
        for line in failure_lines(result):
            print(f"  {line}", file=sys.stderr)
        return EXIT_FAILED
    try:
        written = render(result, args.format, Path(args.out))
    except TexMissing as exc:
        print(f"derivation: {exc}", file=sys.stderr)
        return EXIT_MISSING_TOOL
    except RenderError as exc:
        print(f"derivation: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"derivation: error: cannot write to {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for item in written:
        print(f"wrote {item.path}")
    if not result.ok:
        print(f"derivation: warning: rendered although {len(result.steps) - result.verified} step(s) fail; "
              f"they are marked on the page", file=sys.stderr)
    return EXIT_OK


def _witness(args: argparse.Namespace) -> int:
    if args.samples < 1000:
        print("derivation: error: --samples must be at least 1000", file=sys.stderr)
        return EXIT_BAD_INPUT
    from .layer import simulate
    from .report import witness_report
    from .witness import run
    witnesses = run(args.seed, args.samples)
    gains = [g for activation in ("tanh", "sigmoid", "relu") for g in simulate(activation, seed=args.seed)]
    print(witness_report(witnesses, gains, args.seed, args.samples))
    return EXIT_OK if all(w.ok for w in witnesses) else EXIT_FAILED
