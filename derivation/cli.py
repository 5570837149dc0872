"""Command line: argument parsing and exit codes only.

0 verified (and written); 1 a step or assumption fails, or a document could not be built; 2 bad input or
usage, or the run's budget of time or memory spent (derivation.budget); 3 a tool the command needs (pdflatex) is
not installed; 70 an internal error (a bug: one line, never a traceback); 130 interrupted (Ctrl-C).
Whatever the input, the outcome is one of these, said in one line on stderr with control characters escaped.
How output meets the terminal (colour, width, ASCII, progress, a closed pipe, Ctrl-C) is derivation.terminal's.
"""

from __future__ import annotations

import argparse
import signal
import sys

from . import terminal
from .terminal import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED  # noqa: F401 - the exit codes, named here as ever

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_MISSING_TOOL = 0, 1, 2, 3
EXIT_INTERNAL = 70
SAMPLE_DEFAULT, SAMPLE_MAX = 40_000, 1_000_000
WITNESS_MAX = 1_000_000        # beyond, the forward condition's witness sees its linearisation error
SEED_LIMIT = 2**32


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (control characters of the arguments escaped)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, terminal.safe(f"{self.prog}: error: {message}{_suggestion(message)} "
                                                f"(see {self.prog} --help)") + "\n")

    def _print_message(self, message: str, file=None) -> None:
        """As argparse's, but a closed pipe is not swallowed: `derivation --help | head -0` ends as every
        command does (141, silently)."""
        if message:
            (file or sys.stderr).write(message)


def _suggestion(message: str) -> str:
    """For argparse's "invalid choice: 'verfy' (choose from 'verify', ...)": the closest choice, if one is close."""
    import re

    from .diagnose import did_you_mean
    found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    return did_you_mean(found.group(1), re.findall(r"'([^']*)'", found.group(2))) if found else ""


def _version() -> str:
    """The package and SymPy versions (SymPy's read from its metadata: `--version` imports nothing heavy)."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__
    try:
        sympy = version("sympy")
    except PackageNotFoundError:
        sympy = "not installed"
    return f"derivation {__version__} (SymPy {sympy})"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="derivation",
        description="Machine-check a mathematical derivation step by step with SymPy.")
    parser.add_argument("--version", action="version", version=_version())
    _add_color(parser, "auto")
    commands = _Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    verify = commands.add_parser("verify", help="verify a derivation, step by step")
    verify.add_argument("derivation", nargs="?", default="glorot",
                        help="a built-in name (see `list`) or a path to a .toml file (default: glorot)")
    verify.add_argument("--activation", metavar="F",
                        help="tanh, sigmoid, relu, identity, softsign, or an expression in x such as 'sin(x)' "
                             "(default: the derivation's own)")
    verify.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    _add_sampling(verify)
    _add_slope(verify)
    commands.add_parser("list", help="name the built-in derivations")
    explain = commands.add_parser("explain", help="walk through a derivation, one step at a time")
    explain.add_argument("derivation", nargs="?", default="glorot", help="a built-in name or a .toml file")
    explain.add_argument("--step", metavar="ID", help="one step, in depth")
    explain.add_argument("--activation", metavar="F", help="as for verify")
    _add_slope(explain)
    quiz = commands.add_parser("quiz", help="be examined on a derivation; answers are checked symbolically")
    quiz.add_argument("derivation", nargs="?", default="glorot", help="a built-in name or a .toml file")
    quiz.add_argument("--seed", type=int, default=None, help="draw the questions reproducibly")
    quiz.add_argument("--questions", type=int, default=8, metavar="N", help="number of questions (default 8)")
    quiz.add_argument("--export", metavar="FILE.gift",
                      help="write the questions Moodle can judge as the quiz does (numbers, assumptions, multiple "
                           "choice) to a GIFT file for Moodle's import, instead of playing")
    _add_slope(quiz)
    crosscheck = commands.add_parser("crosscheck", help="the frameworks' initialisers against the verified derivations")
    crosscheck.add_argument("--empirical", action="store_true",
                            help="also draw tensors with torch.nn.init (needs PyTorch) and compare them")
    crosscheck.add_argument("--out", default="build", metavar="DIR",
                            help="where crosscheck.json goes, for render's 'In practice' section (default: build)")
    simulate = commands.add_parser("simulate", help="a deep network at initialisation: variances per layer, plots")
    simulate.add_argument("--depth", type=int, default=5, help="hidden layers (default 5)")
    simulate.add_argument("--width", type=int, default=1000, help="units per layer (default 1000)")
    simulate.add_argument("--activation", choices=["tanh", "sigmoid", "relu"], default="tanh")
    simulate.add_argument("--init", choices=["standard", "normalised", "he", "both"], default="both",
                          help="tanh, sigmoid: standard or normalised; relu: normalised or he (default: both)")
    simulate.add_argument("--batch", type=int, default=300, help="examples (default 300)")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--out", default="build", metavar="DIR", help="where the figures go (default: build)")
    witness = commands.add_parser("witness", help="check every rule's identity exactly and by Monte Carlo")
    witness.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    witness.add_argument("--samples", type=int, default=400_000,
                         help=f"Monte Carlo samples (default: 400000, at most {WITNESS_MAX})")
    render = commands.add_parser("render", help="write the verified derivation as a document")
    render.add_argument("derivation", nargs="?", default="glorot",
                        help="a built-in name or a path to a .toml file (default: glorot)")
    render.add_argument("--format", nargs="+", default=["pdf"], choices=["pdf", "tex", "md", "html", "sheet"],
                        metavar="FORMAT", help="one or more of pdf (with its .tex), tex, md, html (default: pdf); "
                                               "sheet: a one-page comparison of all built-in derivations")
    render.add_argument("--out", default="build", metavar="DIR", help="output directory (default: build)")
    render.add_argument("--activation", metavar="F", help="as for verify")
    _add_sampling(render, "include a table of every step cross-examined on a sampled concrete model")
    render.add_argument("--allow-unverified", action="store_true",
                        help="render even if a step fails, marking the failures on the page")
    _add_slope(render)
    return parser


def _add_color(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--color", "--colour", choices=terminal.COLOR_CHOICES, default=default,
                        help="colour the output: auto (on a terminal, unless NO_COLOR is set or TERM=dumb; the "
                             "default), always (piped too), never")


class _Commands:
    """The subcommands, each of which takes --color too (after the command: `verify --color never`)."""

    def __init__(self, actions):
        self.actions = actions

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        command = self.actions.add_parser(name, **kwargs)
        _add_color(command, argparse.SUPPRESS)       # SUPPRESS: the option before the command is not overwritten
        return command


def _add_sampling(command: argparse.ArgumentParser,
                  what: str = "also cross-examine every step on a sampled concrete model (Monte Carlo, NumPy)") -> None:
    command.add_argument("--sample", action="store_true", help=what)
    command.add_argument("--samples", type=int, default=None, metavar="N",
                         help=f"draws per step for --sample (default {SAMPLE_DEFAULT}; 1000 to {SAMPLE_MAX})")
    command.add_argument("--seed", type=int, default=0, help="seed of the sampled models (default 0)")


def _sampling(args: argparse.Namespace) -> int | str:
    """The number of draws --sample asks for, or what is wrong with the options."""
    samples = SAMPLE_DEFAULT if args.samples is None else args.samples
    if (args.samples is not None or args.seed) and not args.sample:
        return "--samples and --seed go with --sample"
    if not 1000 <= samples <= SAMPLE_MAX:
        return f"--samples must be between 1000 and {SAMPLE_MAX}"
    if not 0 <= args.seed < 2**32:
        return "--seed must be between 0 and 2**32 - 1"
    return samples


def _add_slope(command: argparse.ArgumentParser) -> None:
    command.add_argument("--slope", metavar="A", default=None,
                         help="for derivations with a slope parameter (he): the leaky-ReLU slope, a number such as "
                              "0.01 (default 0, ReLU), or 'symbolic' for the general PReLU form")


def _load(args: argparse.Namespace):
    """The derivation named on the command line, with its slope parameter set (--slope)."""
    from .loader import load, with_slope
    from .kernel.rules import arities
    return with_slope(load(args.derivation, arities()), getattr(args, "slope", None))


def main(argv: list[str] | None = None) -> int:
    """Run one command. ``argv`` None: the command line of this process, which the run's budget then bounds
    for good (see derivation.budget); a list: a call from another program, whose limits, streams and terminal
    policy are restored after."""
    stdout, stderr = sys.stdout, sys.stderr
    prepared = terminal.prepare(stdout), terminal.prepare(stderr, "backslashreplace")   # ASCII where need be
    sys.stderr = _Escaped(stderr)
    try:
        return _guarded(argv, stderr)
    finally:
        sys.stderr = stderr
        if argv is not None:
            terminal.restore(stdout, prepared[0])
            terminal.restore(stderr, prepared[1])
            terminal.reset()


def _guarded(argv: list[str] | None, stderr=None) -> int:
    """The command, with every way it can end turned into an exit code and at most one line on stderr."""
    from . import budget
    limits = budget.Budget(budget.DEFAULT_SECONDS, budget.DEFAULT_MEGABYTES)
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit:              # --help, --version, a usage error: argparse has written its text
            sys.stdout.flush()          # a closed pipe is found here (-> 141 below), not at the interpreter's exit
            raise
        terminal.configure(args.color, sys.stdout, stderr or sys.stderr)
        limits = budget.from_environment()
        if isinstance(limits, str):
            return _usage(limits)
        commands = {"verify": _verify, "list": _list, "render": _render, "witness": _witness, "explain": _explain,
                    "quiz": _quiz, "crosscheck": _crosscheck, "simulate": _simulate}
        with budget.limited(limits, process=argv is None):
            code = commands[args.command](args)
            sys.stdout.flush()              # a closed pipe is found here, not after main() has returned
        return code
    except _user_errors() as exc:
        return _usage(str(exc))
    except budget.BudgetExceeded:
        return _usage(f"the run took longer than its budget of {limits.describe()} (set {budget.TIME_VARIABLE} "
                      f"in seconds to change it, 0 for no limit)")
    except MemoryError:
        return _usage(f"out of memory: the run needs more than its budget of {limits.megabytes} MB (set "
                      f"{budget.MEMORY_VARIABLE} in megabytes to change it, 0 for no limit)")
    except RecursionError:
        return _usage("the input is nested too deeply to be checked")
    except KeyboardInterrupt:
        if argv is None:                    # our own process: a second Ctrl-C cannot cut the message short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return terminal.interrupted()
    except BrokenPipeError:
        return terminal.closed_pipe()
    except Exception as exc:  # noqa: BLE001 - the last guard: a bug, reported in one line, never a traceback
        detail = " ".join(str(exc).split())[:200]
        print(f"derivation: internal error: {type(exc).__name__}: {detail} (please report it, with the command "
              f"and the file)", file=sys.stderr)
        return EXIT_INTERNAL


class _Escaped:
    """A text stream that shows every control character written to it escaped (terminal.safe): what goes to
    stderr quotes file names, arguments and file contents. A progress line is cleared first, so that a message
    stands on its own line."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        with terminal.progress_held():
            return self._stream.write(terminal.safe(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _user_errors() -> tuple[type[Exception], ...]:
    from .activations import ActivationError
    from .loader import LoadError
    return LoadError, ActivationError, InputError


class InputError(ValueError):
    """What the user typed (quiz answers, explain's pauses) cannot be read."""


def _read(prompt: str) -> str:
    """A line typed by the user (EOFError at the end of input); the wait is not counted in the run's time.
    Ctrl-C raises KeyboardInterrupt, which the command line turns into one line and exit 130."""
    from .budget import waiting
    problem = f"standard input is not {getattr(sys.stdin, 'encoding', None) or 'UTF-8'} text"
    try:
        with waiting():
            text = input(prompt)
    except UnicodeDecodeError:
        raise InputError(problem) from None
    if any("\ud800" <= c <= "\udfff" for c in text):           # undecodable bytes, kept as surrogates
        raise InputError(problem)
    return text


def _list(args: argparse.Namespace) -> int:
    from .loader import builtin_names, load
    from .prose import plain
    from .report import list_report
    from .kernel.rules import arities
    entries = []
    for name in builtin_names():
        d = load(name, arities())
        entries.append((name, f"{d.title}: {plain(d.summary)}" if d.summary else d.title))
    print(list_report(entries, terminal.current()))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from .report import json_report, text_report
    from .verify import activation_of, verify
    samples = _sampling(args)
    if isinstance(samples, str):
        return _usage(samples)
    out = terminal.current()
    result = verify(_load(args), args.activation)
    examinations = clash = None
    if args.sample and not result.error:
        from . import sampled
        with out.progress(f"sampling every step ({samples} draws)"):
            examinations = sampled.run(result, activation_of(result.derivation, args.activation), args.seed,
                                       samples)
        clash = sampled.conflicts(result, examinations)
    if args.json:
        text = json_report(result, None if examinations is None else sampled.records(examinations))
        print(text if out.unicode else terminal.ascii_json(text))
    else:
        print(text_report(result, out))
        if examinations is not None:
            print(out.wrap(sampled.text(result, examinations, args.seed, samples)))
    return EXIT_OK if result.ok and not clash else EXIT_FAILED


def _usage(message: str) -> int:
    """A one-line error on stderr (control characters escaped), and exit 2."""
    print(terminal.safe(f"derivation: error: {' '.join(str(message).splitlines())}"), file=sys.stderr)
    return EXIT_BAD_INPUT


def _render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .render import BadOutputName, output_name, render
    from .report import failure_lines
    from .verify import verify
    if "sheet" in args.format:
        if args.format != ["sheet"]:
            print("derivation: error: --format sheet stands alone (it covers every built-in derivation)", file=sys.stderr)
            return EXIT_BAD_INPUT
        return _render_sheet(args)
    samples = _sampling(args)
    if isinstance(samples, str):
        return _usage(samples)
    derivation = _load(args)
    try:
        output_name(derivation)         # checked before the work: 'name' must be an identifier, never a path
    except BadOutputName as exc:
        return _usage(str(exc))
    out = terminal.current()
    with out.progress(f"verifying {derivation.name}"):
        result = verify(derivation, args.activation)
    if not result.ok and not args.allow_unverified:
        print(f"derivation: not rendered: {derivation.path} does not verify "
              f"({result.verified}/{len(result.steps)} steps); fix it, or pass --allow-unverified", file=sys.stderr)
        for line in failure_lines(result):
            print(f"  {line}", file=sys.stderr)
        return EXIT_FAILED
    table = None
    if args.sample and not result.error:
        from . import sampled
        from .verify import activation_of
        with out.progress(f"sampling every step ({samples} draws)"):
            examinations = sampled.run(result, activation_of(derivation, args.activation), args.seed, samples)
        table = sampled.rows(result, examinations, args.seed, samples)
    code = _write(lambda: render(result, args.format, Path(args.out), sample=table), args.out,
                  f"writing {', '.join(args.format)}" + (" (pdflatex)" if "pdf" in args.format else ""))
    if code == EXIT_OK and not result.ok:
        print(f"derivation: warning: rendered although {len(result.steps) - result.verified} step(s) fail; "
              f"they are marked on the page", file=sys.stderr)
    return code


def _write(produce, out: str, doing: str = "writing") -> int:
    """Build documents with ``produce()`` (``doing`` shown as progress meanwhile), say what was written, and map
    failures to exit codes."""
    from .render import BadOutputName, RenderError, TexMissing
    try:
        with terminal.current().progress(doing):
            written = produce()
    except BadOutputName as exc:
        print(f"derivation: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TexMissing as exc:
        print(f"derivation: {exc}", file=sys.stderr)
        return EXIT_MISSING_TOOL
    except RenderError as exc:
        print(f"derivation: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"derivation: error: cannot write to {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for item in written:
        print(f"wrote {item.path}")
    return EXIT_OK


def _witness(args: argparse.Namespace) -> int:
    if not 1000 <= args.samples <= WITNESS_MAX:
        return _usage(f"--samples must be at least 1000 and at most {WITNESS_MAX}")
    if not 0 <= args.seed < SEED_LIMIT:
        return _usage("--seed must be between 0 and 2**32 - 1")
    from .layer import simulate
    from .report import witness_report
    from .witness import run
    out = terminal.current()
    with out.progress("witness") as progress:
        witnesses = run(args.seed, args.samples,
                        lambda done, total, name: progress.update(f"{done + 1}/{total} {name}"))
        gains = []
        for activation in ("tanh", "sigmoid", "relu"):
            progress.update(f"one {activation} layer, simulated")
            gains += simulate(activation, seed=args.seed)
    print(witness_report(witnesses, gains, args.seed, args.samples, out))
    return EXIT_OK if all(w.ok for w in witnesses) else EXIT_FAILED


def _explain(args: argparse.Namespace) -> int:
    import jinja2

    from .explain import explain, laid_out
    from .loader import LoadError
    from .verify import verify
    out = terminal.current()
    derivation = _load(args)
    result = verify(derivation, args.activation)
    try:
        explanations = explain(result, args.step)
    except KeyError:
        known = ", ".join(s.id for s in derivation.steps)
        raise LoadError(derivation.path, None, f"--step {args.step}: no such step (steps: {known})") from None
    env = jinja2.Environment(loader=jinja2.PackageLoader("derivation", "templates"), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    template = env.get_template("explain.txt.j2")
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and len(explanations) > 1
    print(out.wrap(terminal.safe(f"{derivation.title}: {len(explanations)} step(s)")
                   + (" (Enter: next step, q: stop)" if interactive else "")))
    for position, e in enumerate(explanations):
        print()
        print(laid_out(terminal.safe(template.render(e=e).rstrip()), out))
        if interactive and position < len(explanations) - 1:
            try:
                if _read("-- ").strip().lower() in ("q", "quit"):
                    break
            except EOFError:
                break
            except KeyboardInterrupt:
                print()                     # the message goes below the prompt, not after it
                raise
    return EXIT_OK if result.ok else EXIT_FAILED


def _quiz(args: argparse.Namespace) -> int:
    import random

    from .quiz import HEADER, Scorecard, layer_values, play, session
    from .verify import verify
    if not 1 <= args.questions <= 100:
        return _usage("--questions must be between 1 and 100")
    if args.seed is not None and not 0 <= args.seed < SEED_LIMIT:
        return _usage("--seed must be between 0 and 2**32 - 1")
    if args.export is not None:
        problem = _export_path_problem(args.export)
        if problem:
            return _usage(problem)
    verification = verify(_load(args))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    if args.export is not None:
        return _export(verification, seed, args.export)
    questions = session(verification, seed, args.questions, layer_values(_layer_results(verification.derivation)))
    title = verification.derivation.title
    if not questions:
        print(terminal.safe(f"derivation: no questions can be asked on {title}: no step verifies"), file=sys.stderr)
        return EXIT_FAILED
    _line_editing()
    out = terminal.current()

    def write(line: str) -> None:           # escaped, wrapped to a terminal's width (expressions kept whole)
        print(out.wrap(terminal.safe(line)), flush=True)

    write(f"Quiz on {title}: {len(questions)} questions (seed {seed}).")
    for line in HEADER:
        write(line)
    card = Scorecard(len(questions))
    try:
        play(questions, _read, write, card)
    except KeyboardInterrupt:
        print()
        for line in card.ending():
            write(line)
        raise                               # the one-line message and exit 130 (_guarded)
    for line in card.ending():
        write(line)
    return EXIT_OK


def _export_path_problem(name: str) -> str:
    """Why ``quiz --export`` cannot write to ``name`` (empty: it can)."""
    from pathlib import Path
    path = Path(name)
    if path.is_dir():
        return f"--export: {name} is a directory; give a file name ending in .gift"
    if path.suffix.lower() != ".gift":
        return f"--export: {name}: give a file name ending in .gift (Moodle's GIFT format, the one supported)"
    if not path.parent.is_dir():
        return f"--export: {name}: the folder {path.parent} does not exist"
    return ""


def _export(verification, seed: int, name: str) -> int:
    """``quiz --export FILE.gift``: the bank's questions that GIFT can express, written atomically."""
    from pathlib import Path

    from .gift import export
    from .render import write_atomically
    text, count = export(verification, _layer_results(verification.derivation), seed)
    if not count:
        print(terminal.safe(f"derivation: nothing to export on {verification.derivation.title}: no number, "
                            f"assumption or multiple-choice question can be asked"), file=sys.stderr)
        return EXIT_FAILED
    try:
        write_atomically(Path(name), text.encode("utf-8"))
    except OSError as exc:
        return _usage(f"--export: cannot write {name}: {exc.strerror or exc}")
    print(terminal.safe(f"wrote {count} questions to {name} (GIFT; seed {seed})"))
    return EXIT_OK


def _line_editing() -> None:
    """Line editing and history for the quiz's answers (Python's readline) when a person types at a terminal."""
    if not sys.stdin.isatty():
        return
    try:
        import readline  # noqa: F401  - input() edits lines once it is imported
    except ImportError:
        pass


def _verified_results(derivation) -> dict:
    """A derivation's verified results, by what they solve for: {"Var[W[i]]": ..., "sigma": ..., "a": ...}."""
    import sympy as sp

    from .verify import verify
    return {str(r.step.claim.lhs): r.step.claim.rhs for r in verify(derivation).results
            if r.ok and isinstance(r.step.claim, sp.Equality)}


def _layer_results(derivation) -> dict:
    """The verified formulas of this derivation that number questions can use: its uniform bound ``a`` and normal
    std ``sigma`` in the fans n[i], n[i+1] (none for a derivation without them: no number questions)."""
    import sympy as sp

    name = {"glorot": "Glorot ", "he": "He ", "lecun": "LeCun ", "he_fanout": "He fan_out "}.get(derivation.name, "")
    results = _verified_results(derivation)
    labels = {"a": f"{name}uniform bound", "sigma": f"{name}normal std"}
    return {labels[key]: formula for key, formula in results.items() if key in labels
            and formula.free_symbols <= {s for a in formula.atoms(sp.Indexed) for s in a.free_symbols}
            and all(a.base.name == "n" for a in formula.atoms(sp.Indexed)) and formula.atoms(sp.Indexed)}


def _render_sheet(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .loader import builtin_names
    from .render import render_sheet
    from .verify import verify
    with terminal.current().progress("verifying the built-in derivations") as progress:
        verifications = []
        for derivation in map(_builtin, builtin_names()):
            if derivation.suits:
                progress.update(derivation.name)
                verifications.append(verify(derivation))
    failing = [v.derivation.name for v in verifications if not v.ok]
    if failing:
        print(f"derivation: not rendered: {', '.join(failing)} does not verify", file=sys.stderr)
        return EXIT_FAILED
    return _write(lambda: render_sheet(verifications, Path(args.out)), args.out, "writing the sheet (pdflatex)")


def _builtin(name: str):
    """A built-in derivation as `verify NAME` checks it (a slope parameter at its default, 0: ReLU)."""
    return _load(argparse.Namespace(derivation=name, slope=None))


def _crosscheck(args: argparse.Namespace) -> int:
    from .crosscheck import fans, truncated_normal_std
    from .render import crosscheck_table
    from .report import crosscheck_report

    out = terminal.current()
    with out.progress("crosscheck") as progress:
        progress.update("verifying glorot, he and lecun; comparing each framework's formula")
        table = crosscheck_table()        # the same computation `render` repeats to check crosscheck.json
        progress.update("the truncated normal's standard deviation, integrated")
        trunc = truncated_normal_std()
    examples = [(((64, 3, 3, 3), "pytorch"), fans((64, 3, 3, 3), "pytorch")),
                (((3, 3, 3, 64), "keras"), fans((3, 3, 3, 64), "keras")),
                (((512, 256), "pytorch"), fans((512, 256), "pytorch"))]
    print(crosscheck_report(table, trunc, examples, out))
    _save_crosscheck(table, args.out)
    ok = all(r.match for r in table if not r.heuristic)
    if args.empirical:
        with out.progress("crosscheck --empirical: verifying glorot, he and lecun"):
            verified = {name: _verified_results(_builtin(name)) for name in ("glorot", "he", "lecun")}
        ok = _empirical(verified) and ok
    return EXIT_OK if ok else EXIT_FAILED


def _save_crosscheck(table, out: str) -> None:
    """crosscheck.json: asks `render` for its 'In practice' section (which recomputes the rows, and warns
    when the file says otherwise)."""
    import json
    from pathlib import Path

    from .render import crosscheck_records, write_atomically
    write_atomically(Path(out) / "crosscheck.json", json.dumps(crosscheck_records(table), indent=1).encode("utf-8"))


def _empirical(verified: dict) -> bool:
    import sympy as sp

    from .crosscheck import FAN_IN, FAN_OUT, in_fans
    from .empirical import SHAPE, draws, torch_available
    from .report import empirical_report
    if not torch_available():
        print("\nempirical: PyTorch is not installed, skipped (pip install torch, then crosscheck --empirical)")
        return True
    fan_out, fan_in = SHAPE
    layer = {FAN_IN: fan_in, FAN_OUT: fan_out}
    derived = {
        "xavier_uniform_": in_fans(verified["glorot"]["a"]).subs(layer),
        "xavier_normal_": in_fans(verified["glorot"]["sigma"]).subs(layer),
        "kaiming_uniform_ (relu)": in_fans(verified["he"]["a"]).subs(layer),
        "kaiming_normal_ (relu)": in_fans(verified["he"]["sigma"]).subs(layer),
        "nn.Linear default": 1 / sp.sqrt(fan_in),            # Var = 1/(3 fan_in), crosschecked above
    }
    with terminal.current().progress("drawing tensors with torch.nn.init"):
        results = draws({name: float(value) for name, value in derived.items()})
    print(empirical_report(results, terminal.current()))
    return all(d.ok for d in results)


def _simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import plots
    from .render import Written
    from .report import simulate_report
    from .simulate import INITS, simulate
    if not (1 <= args.depth <= 50 and 2 <= args.width <= 5000 and 2 <= args.batch <= 20000):
        return _usage("need 1 <= --depth <= 50, 2 <= --width <= 5000, 2 <= --batch <= 20000")
    if not 0 <= args.seed < SEED_LIMIT:
        return _usage("--seed must be between 0 and 2**32 - 1")
    inits = INITS[args.activation] if args.init == "both" else (args.init,)
    if not set(inits) <= set(INITS[args.activation]):
        return _usage(f"--init {args.init} does not apply to {args.activation} (choose "
                      f"{', '.join(INITS[args.activation])} or both)")
    out = terminal.current()
    with out.progress(f"simulating {args.depth} x {args.width} {args.activation}") as progress:
        runs = [simulate(init, args.depth, args.width, args.activation, args.batch, args.seed, progress.update)
                for init in inits]
    print(simulate_report(runs, args.batch, args.seed, out))
    if not plots.available():
        print("\nfigures: matplotlib is not installed (pip install 'derivation[plots]')")
        return EXIT_OK
    return _write(lambda: [Written(p.suffix[1:], p) for p in plots.write_figures(runs, Path(args.out))], args.out,
                  "drawing the figures")
