"""Read a derivation file (TOML, via the standard library's tomllib) into a :class:`model.Derivation`.

Every problem is a :class:`LoadError` whose message names the file, the step (or section of the file)
and, for expressions, the column: one line a user can act on.
"""

from __future__ import annotations

import keyword
import math
import re
from fractions import Fraction
from numbers import Rational as _RationalNumber
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import sympy as sp

from .escape import unsafe_tex
from .kernel import terms as v
from .kernel.definitions import DefinitionError, shapes
from .kernel.laws import declaration_problem
from .kernel.derivation import FAMILY_FACTS, Assumption, AuthoredQuestion, Definition, Derivation, Evidence, Step, \
    SymbolDecl
from .parser import Namespace, ParseError, parse
from .prose import spans

SYMBOL_KINDS = ("index", "size", "random", "constant", "positive", "probability", "real")
KIND_ALIASES = {"positive integer": "size", "count": "size"}     # a depth L, a dimension d_k: a size
RESERVED = ("Var", "E", "Sum", "f", "df", "x", "pi")   # the expression language, and the activation's x
MAX_FILE_BYTES = 1_000_000

_TOP_KEYS = {"name", "title", "source", "summary", "activation", "slope", "symbols", "assumptions", "definitions",
             "sections", "differs", "suits", "evidence", "questions"}
_SYMBOL_KEYS = {"kind", "text", "latex", "units", "gradient_of", "value", "law", "layered"}
_ASSUMPTION_KEYS = {"title", "statement", "activation", "rectifier", "independent", "iid", "zero_mean", "symmetric",
                    "facts"}
_SECTION_KEYS = {"title", "steps"}
_STEP_KEYS = {"id", "rule", "claim", "uses", "note", "without", "start", "from", "result", "at", "paper"}
_EVIDENCE_KEYS = {"caption", "columns", "rows"}
MAX_EVIDENCE_ROWS, MAX_EVIDENCE_CELL = 20, 200
_QUESTION_KEYS = {"prompt", "answer", "choices", "correct", "explanation", "step", "hint"}
MAX_QUESTIONS, MAX_CHOICES, MAX_QUESTION_TEXT = 50, 8, 1000


class LoadError(ValueError):
    """A derivation file that cannot be used, with where the problem is."""

    def __init__(self, path: str, where: str | None, message: str):
        self.path, self.where, self.message = path, where, message
        super().__init__(f"{path}: {where}: {message}" if where else f"{path}: {message}")


def builtin_names() -> list[str]:
    """Names of the derivations shipped inside the package."""
    folder = resources.files("derivation") / "derivations"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def resolve(name_or_path: str) -> tuple[str, str]:
    """Map a built-in name or a file path to (text of the file, path to show in messages)."""
    if name_or_path in builtin_names():
        ref = resources.files("derivation") / "derivations" / f"{name_or_path}.toml"
        return ref.read_text(encoding="utf-8"), f"{name_or_path}.toml"
    path = Path(name_or_path)
    try:
        if not path.is_file():
            from .diagnose import did_you_mean
            known = ", ".join(builtin_names())
            raise LoadError(name_or_path, None, f"no such file, and not a built-in derivation ({known})"
                                                f"{did_you_mean(name_or_path, builtin_names())}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LoadError(name_or_path, None, f"file is larger than {MAX_FILE_BYTES} bytes")
        with path.open("rb") as file:                 # read bounded: the file may have grown since stat
            data = file.read(MAX_FILE_BYTES + 1)
    except LoadError:
        raise
    except OSError as exc:                            # a name too long, a directory not searchable, ...
        raise LoadError(name_or_path, None, f"cannot read: {exc.strerror or exc}") from None
    except ValueError:                                # a NUL in the path
        raise LoadError(name_or_path, None, "not a usable file name") from None
    if len(data) > MAX_FILE_BYTES:
        raise LoadError(name_or_path, None, f"file is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"), name_or_path
    except UnicodeDecodeError:
        raise LoadError(name_or_path, None, "not UTF-8 text") from None


def load(name_or_path: str, known_rules: Mapping[str, int]) -> Derivation:
    """Load a built-in derivation by name, or a derivation file by path.

    ``known_rules`` maps each rule name to the number of input expressions it takes.
    """
    text, shown = resolve(name_or_path)
    return loads(text, shown, known_rules, name=Path(shown).stem)


def loads(text: str, path: str, known_rules: Mapping[str, int], name: str = "derivation") -> Derivation:
    """Parse the TOML text of a derivation; ``path`` is only used in messages."""
    if len(text) > MAX_FILE_BYTES:
        raise LoadError(path, None, f"file is larger than {MAX_FILE_BYTES} bytes")
    costly = too_costly(text)
    if costly:
        line, message = costly
        raise LoadError(path, f"line {line}", message)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LoadError(path, None, f"not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:     # what tomllib does not wrap: an integer Python refuses
        raise LoadError(path, None, f"not valid TOML: {str(exc).split(':')[0]}") from None
    found = _control_character(data, ())
    if found:
        where, char = found
        raise LoadError(path, where, f"control character U+{ord(char):04X} (only newline and tab are allowed in text)")
    return _Reader(path, dict(known_rules)).derivation(data, name)


_ALLOWED_CONTROL = "\n\t"
MAX_LINE = 20_000        # characters in one line
MAX_KEY_PARTS = 16       # parts of one dotted key or table header ([a.b.c] has 3)
MAX_NESTING = 16         # arrays and inline tables inside one another
MAX_NUMBER_LENGTH = 100  # characters of a number outside strings


def too_costly(text: str) -> tuple[int, str] | None:
    """(line, what) if the TOML text is of a shape that makes parsing it slow or deep, checked before parsing:
    tomllib is quadratic in the parts of a dotted key (a 200,000-part header takes minutes), recursive in nesting,
    and an integer of more than 4300 digits is refused by Python itself. A lexical scan, linear in the text; it
    need not judge validity (tomllib does), only bound what a valid file can ask for."""
    line, column, quote, stack = 1, 0, "", []
    key, parts, number = True, 1, 0              # in a key (line start, inline table), its parts, a digit run
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line, column = line + 1, 0
            if not quote or len(quote) == 1:
                quote = ""                       # a one-line string ends at the line (else: invalid, tomllib says)
                if not stack:
                    key, parts = True, 1
            number = 0
            i += 1
            continue
        column += 1
        if column > MAX_LINE:
            return line, f"line longer than {MAX_LINE} characters"
        if quote:
            if c == "\\" and quote[0] == '"':
                i, column = i + 2, column + 1
                continue
            if text.startswith(quote, i):
                i, column, quote = i + len(quote), column + len(quote) - 1, ""
                continue
            i += 1
            continue
        if c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i, column = i + len(quote), column + len(quote) - 1
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        number = number + 1 if c.isdigit() or (number and c == "_") else 0
        if number > MAX_NUMBER_LENGTH:
            return line, f"a number longer than {MAX_NUMBER_LENGTH} characters"
        if key and c == ".":
            parts += 1
            if parts > MAX_KEY_PARTS:
                return line, f"a key of more than {MAX_KEY_PARTS} dotted parts"
        elif key and c == "=":
            key, parts = False, 1
        elif c in "[{" and not (key and not stack and c == "["):      # not a table header's brackets
            stack.append(c)
            if len(stack) > MAX_NESTING:
                return line, f"arrays or tables nested more than {MAX_NESTING} deep"
            key, parts = c == "{", 1
        elif c in "]}" and stack:
            stack.pop()
            key = False                          # after a value (a header's own brackets are never stacked)
        elif c == "," and stack and stack[-1] == "{":
            key, parts = True, 1
        i += 1
    return None


def _control_character(data: Any, path: tuple) -> tuple[str, str] | None:
    """The first control character (C0, DEL, C1; not newline or tab) in any key or string of the file, so
    that none can reach a terminal: (where, the character)."""
    def bad(text: str) -> str | None:
        return next((c for c in text if (ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0) and c not in _ALLOWED_CONTROL), None)
    if isinstance(data, str):
        char = bad(data)
        return (".".join(path) or "the file", char) if char else None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        label = str(key)
        char = bad(label) if isinstance(key, str) else None
        if char:
            return ".".join(path) or "the file", char
        found = _control_character(value, (*path, ascii(label)[1:-1] if isinstance(key, str) else f"[{key}]"))
        if found:
            return found
    return None


class _Reader:
    def __init__(self, path: str, known_rules: dict[str, int]):
        self.path = path
        self.known_rules = known_rules

    def error(self, where: str | None, message: str) -> LoadError:
        return LoadError(self.path, where, message)

    def table(self, data: Any, where: str, allowed: set[str]) -> dict:
        if not isinstance(data, dict):
            raise self.error(where, "expected a table")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.error(where, f"unknown field '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")
        return data

    def string(self, data: dict, key: str, where: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                raise self.error(where, f"missing field '{key}'")
            return ""
        if not isinstance(value, str):
            raise self.error(where, f"field '{key}' must be a string")
        return value

    def names(self, data: dict, key: str, where: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.error(where, f"field '{key}' must be a list of strings")
        return value

    def expression(self, text: str, names: Namespace, where: str, what: str) -> sp.Expr:
        try:
            return parse(text, names)
        except ParseError as exc:
            raise self.error(where, f"{what}, {exc}") from None

    def prose(self, text: str, names: Namespace, where: str | None, what: str) -> None:
        """Prose may hold `expressions` in backticks; each must parse like a claim."""
        try:
            spans(text, names)
        except ParseError as exc:
            raise self.error(where, f"{what}, {exc}") from None

    def derivation(self, data: dict, name: str) -> Derivation:
        self.table(data, None, _TOP_KEYS)
        title = self.string(data, "title", None)
        symbols = self.symbols(data.get("symbols"))
        names = self.namespace(symbols)
        symbols = self.symbol_details(data.get("symbols"), symbols, names)
        assumptions = self.assumptions(data.get("assumptions", {}), symbols, names)
        definitions = self.definitions(data.get("definitions", {}), names, symbols)
        self.check_facts(assumptions, symbols, definitions)
        sections, steps = self.steps(data.get("sections"), names, assumptions)
        summary = self.string(data, "summary", None, required=False)
        sheet = {key: self.string(data, key, None, required=False) for key in ("differs", "suits")}
        for key, text in sheet.items():
            self.prose(text, names, None, key)
        slope = self.string(data, "slope", None, required=False) or None
        if slope is not None and (symbols.get(slope) is None or symbols[slope].kind not in ("real", "positive")):
            raise self.error(None, f"'slope' names '{slope}', which is not a declared real parameter")
        self.prose(summary, names, None, "summary")
        for decl in symbols.values():
            self.prose(decl.text, names, f"symbol '{decl.name}'", "text")
        for assumption in assumptions.values():
            self.prose(assumption.statement, names, f"assumption {assumption.id}", "statement")
        for step in steps:
            self.prose(step.note, names, f"step {step.id}", "note")
            self.prose(step.without, names, f"step {step.id}", "without")
        return Derivation(
            name=self.string(data, "name", None, required=False) or name,
            title=title,
            source=self.string(data, "source", None, required=False),
            path=self.path,
            activation=self.string(data, "activation", None, required=False) or "tanh",
            summary=summary,
            symbols=symbols,
            assumptions=assumptions,
            definitions=definitions,
            sections=sections,
            steps=steps,
            namespace=names,
            slope=slope,
            evidence=self.evidence(data.get("evidence")),
            questions=self.questions(data.get("questions"), names, steps),
            **sheet,
        )

    def questions(self, data: Any, names: Namespace, steps: list[Step]) -> tuple[AuthoredQuestion, ...]:
        """``[[questions]]``: the author's questions for the quiz. Each has a ``prompt`` and either an ``answer`` (an
        expression, parsed like a claim) or ``choices`` (2 to 8) with the 1-based ``correct`` one; optionally an
        ``explanation``, a ``hint`` and the ``step`` it is about. Prose is checked like notes (math in backticks)."""
        if data is None:
            return ()
        if not isinstance(data, list) or not data or len(data) > MAX_QUESTIONS:
            raise self.error("[[questions]]", f"expected 1 to {MAX_QUESTIONS} [[questions]] tables")
        ids = {s.id for s in steps}
        out = []
        for number, raw in enumerate(data, 1):
            where = f"question {number}"
            raw = self.table(raw, where, _QUESTION_KEYS)
            texts = {key: self.string(raw, key, where, key == "prompt") for key in ("prompt", "explanation", "hint")}
            for key, text in texts.items():
                if len(text) > MAX_QUESTION_TEXT:
                    raise self.error(where, f"field '{key}' is longer than {MAX_QUESTION_TEXT} characters")
                self.prose(text, names, where, key)
            if not texts["prompt"].strip():
                raise self.error(where, "field 'prompt' is empty")
            step = self.string(raw, "step", where, False)
            if step and step not in ids:
                raise self.error(where, f"'step' names unknown step '{step}'")
            answer_text = self.string(raw, "answer", where, False)
            choices, correct = raw.get("choices"), raw.get("correct")
            if bool(answer_text) == (choices is not None):
                raise self.error(where, "give either 'answer' (an expression) or 'choices' with 'correct'")
            if answer_text:
                if correct is not None:
                    raise self.error(where, "'correct' goes with 'choices'")
                answer = self.expression(answer_text, names, where, "answer")
                out.append(AuthoredQuestion(texts["prompt"], texts["explanation"], answer, answer_text, step=step,
                                            hint=texts["hint"]))
                continue
            if (not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES
                    or not all(isinstance(c, str) and c.strip() for c in choices)):
                raise self.error(where, f"field 'choices' must be a list of 2 to {MAX_CHOICES} non-empty strings")
            for choice in choices:
                if len(choice) > MAX_QUESTION_TEXT:
                    raise self.error(where, f"a choice is longer than {MAX_QUESTION_TEXT} characters")
                self.prose(choice, names, where, "choice")
            if isinstance(correct, bool) or not isinstance(correct, int) or not 1 <= correct <= len(choices):
                raise self.error(where, f"field 'correct' must be the number of the right choice, 1 to {len(choices)}")
            out.append(AuthoredQuestion(texts["prompt"], texts["explanation"], choices=tuple(choices), correct=correct,
                                        step=step, hint=texts["hint"]))
        return tuple(out)

    def evidence(self, data: Any) -> Evidence | None:
        """``[evidence]``: a small table quoted from the source (caption, columns, rows of strings), shown
        beside the result it supports; display only."""
        if data is None:
            return None
        self.table(data, "[evidence]", _EVIDENCE_KEYS)
        caption = self.string(data, "caption", "[evidence]")
        columns, rows = data.get("columns"), data.get("rows")
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            raise self.error("[evidence]", "field 'columns' must be a list of strings")
        if (not isinstance(rows, list) or not rows or len(rows) > MAX_EVIDENCE_ROWS
                or not all(isinstance(r, list) and all(isinstance(c, str) for c in r) for r in rows)):
            raise self.error("[evidence]", f"field 'rows' must be a list of 1 to {MAX_EVIDENCE_ROWS} lists of strings")
        for number, row in enumerate(rows, 1):
            if len(row) != len(columns) + 1:
                raise self.error("[evidence]", f"row {number} has {len(row)} cells: a label and one per column "
                                               f"({len(columns) + 1})")
        if any(len(c) > MAX_EVIDENCE_CELL for c in [caption, *columns, *(c for r in rows for c in r)]):
            raise self.error("[evidence]", f"a cell or the caption is longer than {MAX_EVIDENCE_CELL} characters")
        return Evidence(caption, tuple(columns), tuple(tuple(r) for r in rows))

    def symbols(self, data: Any) -> dict[str, SymbolDecl]:
        if data is None:
            raise self.error(None, "missing table [symbols]")
        self.table(data, "[symbols]", set(data) if isinstance(data, dict) else set())
        out = {}
        for name, spec in data.items():
            where = f"symbol '{name}'"
            if not name.isidentifier() or name.startswith("_"):
                raise self.error(where, "a symbol name must be a plain identifier")
            if keyword.iskeyword(name) or keyword.issoftkeyword(name):
                raise self.error(where, f"'{name}' is a Python keyword, which expressions cannot use as a name: "
                                        f"choose another (e.g. '{name}_')")
            if name in RESERVED or name in _reserved():
                raise self.error(where, f"'{name}' is reserved by the expression language (reserved: "
                                        f"{', '.join(sorted(set(RESERVED) | _reserved()))})")
            spec = self.table(spec, where, _SYMBOL_KEYS)
            kind = self.string(spec, "kind", where)
            kind = KIND_ALIASES.get(kind, kind)
            if kind not in SYMBOL_KINDS:
                raise self.error(where, f"unknown kind '{kind}' (one of: {', '.join(SYMBOL_KINDS)})")
            latex = self.string(spec, "latex", where, False)
            problem = unsafe_tex(latex)
            if problem:
                raise self.error(where, f"field 'latex' may not contain {problem}")
            out[name] = SymbolDecl(name, kind, self.string(spec, "text", where, False), latex)
        return out

    def namespace(self, symbols: dict[str, SymbolDecl]) -> Namespace:
        plain, indexed = {}, {}
        for decl in symbols.values():
            if decl.kind == "index":
                plain[decl.name] = sp.Symbol(decl.name, integer=True)
            elif decl.kind in ("positive", "probability"):       # a probability: 0 < p < 1
                plain[decl.name] = sp.Symbol(decl.name, positive=True)
            elif decl.kind == "real":
                plain[decl.name] = sp.Symbol(decl.name, real=True)
            elif decl.kind == "size":
                indexed[decl.name] = sp.IndexedBase(decl.name, positive=True, integer=True)
                plain[decl.name] = sp.Symbol(decl.name, positive=True, integer=True)   # N: one size
            else:
                indexed[decl.name] = sp.IndexedBase(decl.name, real=True)
        return Namespace(plain, indexed)

    def symbol_details(self, data: dict, symbols: dict[str, SymbolDecl], names: Namespace) -> dict[str, SymbolDecl]:
        """Second pass: fields that refer to other symbols (units, gradient_of, value)."""
        out = {}
        for name, decl in symbols.items():
            where = f"symbol '{name}'"
            units_text = self.string(data[name], "units", where, False)
            units = self.expression(units_text, names, where, "units") if units_text else None
            gradient_of = self.string(data[name], "gradient_of", where, False) or None
            if gradient_of is not None and symbols.get(gradient_of, SymbolDecl("", "")).kind != "random":
                raise self.error(where, f"gradient_of names '{gradient_of}', which is not a declared random variable")
            value_text = self.string(data[name], "value", where, False)
            value = self.expression(value_text, names, where, "value") if value_text else None
            if value is not None and (decl.kind != "constant" or isinstance(value, sp.Equality)
                                      or value.atoms(sp.Indexed, sp.Symbol) - set(names.symbols.values())
                                      or any(s.is_integer and not s.is_positive for s in value.free_symbols)):
                raise self.error(where, "'value' is for a constant, and must be a number or an expression in "
                                        "declared parameters (not indices)")
            law_text = self.string(data[name], "law", where, False)
            law = self.law(law_text, names, symbols, where) if law_text else None
            if law is not None and decl.kind != "random":
                raise self.error(where, "'law' is for a random variable")
            layered = data[name].get("layered")
            if layered is not None and (not isinstance(layered, bool) or decl.kind != "random"):
                raise self.error(where, "'layered' is true or false, for a random variable (is its first index a layer?)")
            out[name] = SymbolDecl(decl.name, decl.kind, decl.text, decl.latex, units, gradient_of, value, law,
                                   layered)
        return out

    def law(self, text: str, names: Namespace, symbols: dict[str, SymbolDecl], where: str) -> sp.Expr:
        """A declared law: ``Bernoulli(p)``, ``Uniform(lo, hi)`` or ``Normal(mu, sigma)``, its parameters numbers
        or declared parameters, and valid (0 <= p <= 1, lo < hi, sigma > 0, shown from the declarations)."""
        head, _, rest = text.strip().partition("(")
        laws = {cls.__name__: cls for cls in v.LAWS}
        if head.strip() not in laws or not rest.endswith(")"):
            raise self.error(where, f"'law' must be one of {', '.join(laws)} with its parameters, e.g. Bernoulli(p)")
        parts, depth, current = [], 0, ""
        for char in rest[:-1]:                       # the parameters, split at top-level commas
            depth += (char in "([") - (char in ")]")
            if char == "," and depth == 0:
                parts.append(current)
                current = ""
            else:
                current += char
        arguments = tuple(self.expression(part, names, where, "law") for part in [*parts, current])
        cls = laws[head.strip()]
        if len(arguments) != (1 if cls is v.Bernoulli else 2):
            raise self.error(where, f"{cls.__name__} takes {1 if cls is v.Bernoulli else 2} parameter(s)")
        for argument in arguments:
            if not isinstance(argument, sp.Expr) or argument.atoms(sp.Indexed) or any(
                    symbols[s.name].kind not in ("positive", "probability", "real") for s in argument.free_symbols):
                raise self.error(where, f"a law's parameters are numbers or declared parameters (positive, "
                                        f"probability, real), not {sp.sstr(argument)}")
        law = cls(*arguments)
        return law

    def assumptions(self, data: Any, symbols: dict[str, SymbolDecl], names: Namespace) -> dict[str, Assumption]:
        self.table(data, "[assumptions]", set(data) if isinstance(data, dict) else set())
        out = {}
        for aid, spec in data.items():
            where = f"assumption {aid}"
            spec = self.table(spec, where, _ASSUMPTION_KEYS)
            lists = {}
            for key in FAMILY_FACTS:
                lists[key] = self.names(spec, key, where)
                for name in lists[key]:
                    if symbols.get(name) is None or symbols[name].kind != "random":
                        raise self.error(where, f"{key} lists '{name}', which is not a declared random variable")
            flags = {}
            for key in ("activation", "rectifier"):
                flags[key] = spec.get(key, False)
                if not isinstance(flags[key], bool):
                    raise self.error(where, f"field '{key}' must be true or false")
            facts = tuple(self.expression(text, names, where, "fact") for text in self.names(spec, "facts", where))
            out[aid] = Assumption(aid, self.string(spec, "title", where, False) or aid,
                                  self.string(spec, "statement", where), **flags,
                                  **{k: frozenset(v) for k, v in lists.items()}, facts=facts)
        return out

    def check_facts(self, assumptions: dict[str, Assumption], symbols: dict[str, SymbolDecl],
                    definitions: list[Definition]) -> None:
        """The kernel's checks of declarations (kernel.laws: laws, premise equations, layers), as bad input (exit 2)."""
        problem = declaration_problem(symbols, assumptions, definitions)
        if problem:
            where, message = problem
            raise self.error(where, message)

    def definitions(self, data: Any, names: Namespace, symbols: dict[str, SymbolDecl]) -> list[Definition]:
        self.table(data, "[definitions]", set(data) if isinstance(data, dict) else set())
        out = []
        for lhs_text, rhs_text in data.items():
            where = f"definition '{lhs_text}'"
            lhs = self.expression(lhs_text, names, where, "left side")
            if not isinstance(lhs, sp.Indexed):
                raise self.error(where, "the left side must be an indexed variable such as z[i+1, k]")
            if not isinstance(rhs_text, str):
                raise self.error(where, "the right side must be a string")
            out.append(Definition(lhs, self.expression(rhs_text, names, where, "right side"), lhs_text))
        try:                            # the kernel's own checks, so that a bad set is bad input (exit 2)
            shapes(tuple(out), frozenset(n for n, d in symbols.items() if d.kind == "random"))
        except DefinitionError as exc:
            raise self.error("[definitions]", str(exc)) from None
        return out

    def steps(self, data: Any, names: Namespace, assumptions: dict[str, Assumption]) -> tuple[list[str], list[Step]]:
        if not isinstance(data, list) or not data:
            raise self.error(None, "missing [[sections]] (each with a title and [[sections.steps]])")
        titles, steps, seen = [], [], set()
        for number, section in enumerate(data, 1):
            section = self.table(section, f"section {number}", _SECTION_KEYS)
            title = self.string(section, "title", f"section {number}")
            titles.append(title)
            raw_steps = section.get("steps")
            if not isinstance(raw_steps, list) or not raw_steps:
                raise self.error(f"section '{title}'", "has no [[sections.steps]]")
            for position, raw in enumerate(raw_steps, 1):
                step = self.step(raw, f"section '{title}', step {position}", title, names, assumptions, seen)
                if not steps and step.start is None and not step.inputs:
                    raise self.error(f"step {step.id}", "the first step needs 'start' (the expression it begins from)")
                seen.add(step.id)
                steps.append(step)
        return titles, steps

    def step(self, raw: Any, fallback: str, section: str, names: Namespace,
             assumptions: dict[str, Assumption], seen: set[str]) -> Step:
        raw = self.table(raw, fallback, _STEP_KEYS)
        step_id = self.string(raw, "id", fallback)
        where = f"step {step_id}"
        if step_id in seen:
            raise self.error(where, "duplicate step id")
        rule = self.string(raw, "rule", where)
        if rule not in self.known_rules:
            raise self.error(where, f"unknown rule '{rule}' (known: {', '.join(sorted(self.known_rules))})")
        uses = self.names(raw, "uses", where)
        for aid in uses:
            if aid not in assumptions:
                raise self.error(where, f"uses unknown assumption '{aid}'")
        inputs = self.names(raw, "from", where)
        for ref in inputs:
            if ref not in seen:
                raise self.error(where, f"'from' names unknown step '{ref}' (only earlier steps can be used)")
        claim_text = self.string(raw, "claim", where)
        at_text = self.string(raw, "at", where, False)
        start_text = self.string(raw, "start", where, False)
        given = (1 if start_text else 0) + len(inputs) or 1
        if self.known_rules[rule] == 0:              # the chain's expression, and facts cited with 'from'
            if not start_text and not seen:
                raise self.error(where, "the first step needs 'start' (the expression it begins from)")
        elif given != self.known_rules[rule]:
            raise self.error(where, f"rule '{rule}' takes {self.known_rules[rule]} input expression(s), "
                                    f"the step gives {given} (from 'start' and 'from')")
        result = raw.get("result", False)
        if not isinstance(result, bool):
            raise self.error(where, "field 'result' must be true or false")
        return Step(
            id=step_id, rule=rule,
            claim=self.expression(claim_text, names, where, "claim"), claim_text=claim_text,
            section=section, uses=tuple(uses), note=self.string(raw, "note", where, False),
            start=self.expression(start_text, names, where, "start") if start_text else None,
            start_text=start_text, inputs=tuple(inputs), result=result,
            without=self.string(raw, "without", where, False),
            at=self.expression(at_text, names, where, "at") if at_text else None,
            paper=self.paper_number(raw, where),
        )

    def paper_number(self, raw: dict, where: str) -> str:
        """``paper``: the source's equation number the step restores ("10", "4a"): a short label, display only."""
        text = self.string(raw, "paper", where, False)
        if text and not re.fullmatch(r"[0-9A-Za-z.\-]{1,8}", text):
            raise self.error(where, "field 'paper' must be an equation number such as \"10\" (letters, digits, "
                                    "'.' or '-', at most 8)")
        return text


def _reserved() -> set[str]:
    from .parser import CONSTANTS, FUNCTIONS, MOMENTS
    return set(FUNCTIONS) | set(MOMENTS) | set(CONSTANTS)


def with_slope(derivation: Derivation, slope=None) -> Derivation:
    """``--slope``: the derivation's slope parameter set to ``slope`` (0 when None, the ReLU), or left symbolic for
    ``"symbolic"``. ``slope`` is text (parsed by the safe parser: a number as written, never one to be computed) or
    a Python number (taken exactly as it prints: 0.01 is 1/100). LoadError when the derivation has no slope
    parameter, or the slope is not a number."""
    from .kernel.derivation import with_values
    if derivation.slope is None:
        if slope is not None:
            raise LoadError(derivation.path, None, "--slope: this derivation has no slope parameter (try: he)")
        return derivation
    if isinstance(slope, str) and slope == "symbolic":
        return derivation
    value = _slope_value(derivation, slope)
    if value is None:
        raise LoadError(derivation.path, None, "--slope: expected a number such as 0.01 or 1/100 (or 'symbolic')")
    return with_values(derivation, {derivation.namespace.symbols[derivation.slope]: value})


def _slope_value(derivation: Derivation, slope) -> sp.Rational | None:
    """The slope as an exact rational, or None when it is not a number (LoadError for text that does not parse)."""
    if slope is None:
        return sp.Integer(0)
    if isinstance(slope, str):
        try:
            value = parse(slope, Namespace())
        except ParseError as exc:
            raise LoadError(derivation.path, None, f"--slope: {exc}") from None
        return value if isinstance(value, sp.Rational) else None
    if isinstance(slope, bool):
        return None
    if isinstance(slope, sp.Rational):
        return slope
    if isinstance(slope, float):
        if not math.isfinite(slope):
            return None
        slope = Fraction(repr(slope))
    if isinstance(slope, _RationalNumber):          # int, Fraction
        return sp.Rational(int(slope.numerator), int(slope.denominator))
    return None
