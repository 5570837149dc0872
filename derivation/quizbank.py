"""The quiz's bank: every question that can be asked on one verified derivation, and a session drawn from it.

Kinds of question (``Question.kind``):
  next step    a step that continues its chain: the previous step's result and the rule; what does it give?
  chain start  a step that starts a chain (B0: the chain rule applied to ``Var[g[i, k]]``; F0: the definitions)
  law          a step that computes a moment of a law (D3: ``Var[Uniform(-a, a)]``)
  combine      a step that takes earlier results (D1: harmonic averaging of F6 and B6; D4 from D3 and D1)
  assumption   which assumptions a step needs, judged by checking the step again with the kernel
  number       a numerical value for a layer (fans chosen so that every classic mistake is outside the tolerance)
  concept      written by the derivation's author (``[[questions]]``), with its answer and explanation
Only verified steps are asked about, and numbers only from the derivation's own verified results.

No question shows another's answer before that one is asked: every question records the expressions it asks
for (``asks``) and everything it displays (prompt, hints, the answer and explanation after it: ``shows``), as
canonical keys; a session is ordered so that a question whose display contains another's answer comes after
it (and questions that would reveal each other are not drawn together).
"""

from __future__ import annotations

import inspect
import random
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import sympy as sp

from . import judge as J
from .crosscheck import FAN_IN, FAN_OUT, in_fans
from .kernel import terms as v
from .kernel.activation import check_activation
from .kernel.check import Verification, _apply, _fact, context_for, random_names, sources, subjects
from .kernel.compare import canonical, compare
from .kernel.definitions import shapes
from .kernel.rules import COMPROMISE, REQUIRES, RULES, Choices, ObligationFailed, RuleError
from .kernel.timelimit import TimeLimitExceeded, time_limit
from .parser import ParseError, parse
from .printing import plain
from .quiz import RELATIVE_TOLERANCE, Question, _bounded_judge

FANS = (16, 32, 50, 64, 100, 128, 200, 256, 300, 384, 500, 512, 784, 1000, 1024, 2048, 4096)
MARGIN = 3 * RELATIVE_TOLERANCE        # every classic mistake at least this far from the right value, and apart
KIND_WEIGHTS = {"step": 5, "assumption": 2, "concept": 2, "number": 2}
RECHECK_SECONDS = 10                   # checking a step again with other assumptions

RULE_WHAT = {
    "definition": "replaces each defined variable by its definition, once",
    "chain rule": "writes a gradient through every unit of the layers that use the variable",
    "linearisation": "replaces the activation by its first-order Taylor polynomial at 0 (valid near 0)",
    "variance additivity": "the variance of a sum of uncorrelated terms is the sum of their variances",
    "product variance": "the variance of a product of independent factors, in their means and variances",
    "zero mean": "sets to 0 every mean that the premises show to be 0",
    "iid summation": "a sum of identically distributed terms is the count times one term",
    "second moment": "a variance plus a squared mean is the mean of the square",
    "rectifier second moment": "the mean square of a rectified symmetric variable is a fixed multiple of its variance",
    "rectifier derivative moment": "the mean square of a rectifier's slope at a symmetric point is a fixed number",
    "forward condition": "asks that the activations keep their variance from one layer to the next",
    "backward condition": "asks that the gradients keep their variance from one layer to the one below",
    "harmonic averaging": "a compromise between two requirements on one variance: their harmonic mean",
    "uniform variance": "computes the variance of a uniform law from its density",
    "normal": "chooses the standard deviation of a centred normal law with the required variance",
    "uniform bound": "chooses the bound of a symmetric uniform law with the required variance",
    "expectation linearity": "the mean of a sum is the sum of the means; constants come out",
    "variance scaling": "constant factors come out of a variance squared; added constants drop out",
    "product mean": "the mean of a product of independent factors is the product of their means",
    "variance identity": "a variance is the mean of the square minus the squared mean",
    "law moments": "computes means and variances from a declared law",
    "substitution": "puts in the values that premises or earlier results give",
    "algebra": "rewrites without any fact about the random variables",
    "telescoping": "unrolls a recurrence layer by layer into a sum",
    "covariance expansion": "the variance of a sum with the covariances of its terms",
    "covariance bilinearity": "a covariance is linear in each of its arguments",
    "zero covariance": "sets to 0 the covariance of uncorrelated variables",
}
FORMS = {
    "definition": "with the definitions unfolded, each once",
    "chain rule": "through the units of the layer that uses it",
    "linearisation": "to first order at 0",
    "variance additivity": "a sum of variances",
    "product variance": "in the means E[...] and variances Var[...] of the factors",
    "zero mean": "with every mean that is 0 removed",
    "iid summation": "with the sum collapsed: in one layer's moments, such as Var[W[i]] for all the Var[W[i, j, k]]",
    "second moment": "with a second moment E[X**2] where a variance and a squared mean add up",
    "rectifier second moment": "with the second moment of the activation computed",
    "rectifier derivative moment": "with the mean square of the slope computed",
    "expectation linearity": "with the mean taken inside",
    "variance scaling": "with the constants taken out",
    "product mean": "a product of means",
    "law moments": "with the moments of the law computed",
    "substitution": "with the values put in",
    "algebra": "simplified",
    "telescoping": "as a sum over the layers",
}


@dataclass
class _Step:
    """What the bank knows about one verified step."""

    result: object               # kernel.check.StepResult
    facts: J.Facts
    shown: str                   # its claim as the derivation writes it


class Bank:
    """Every question on ``verification`` (see the module docstring). ``layers``: the derivation's verified
    results for number questions, label -> formula in the fans ``n[i]``, ``n[i+1]``."""

    def __init__(self, verification: Verification, layers: dict | None = None):
        self.v = verification
        self.d = verification.derivation
        self.names = self.d.namespace
        self.layers = {label: formula for label, formula in (layers or {}).items()
                       if _kind_of_label(label) and in_fans(formula).free_symbols <= {FAN_IN, FAN_OUT}}
        self.subject_of = subjects(self.d)
        self.ok = {r.step.id: r for r in verification.steps if r.ok}
        self.status = {r.step.id: r for r in verification.steps}
        self.sizes = frozenset(n for n, decl in self.d.symbols.items() if decl.kind == "size")
        self.computed = self._computed()
        self.found = shapes(tuple(self.d.definitions), random_names(self.d)) if not verification.error else {}
        self.info = {sid: _Step(r, self._facts(r), self._claim_text(r.step)) for sid, r in self.ok.items()}
        self.steps = [q for q in map(self._step_question, self.d.steps) if q is not None]
        self.assumptions = [q for q in map(self._assumption_question, self.d.steps) if q is not None]
        self.concepts = [q for q in (self._concept(n, a) for n, a in enumerate(self.d.questions, 1)) if q is not None]
        self._pairs: dict[str, list[tuple[int, int]]] = {}

    # ------------------------------------------------------------ shared

    def _computed(self):
        """The activation as computed (its values at 0), whether or not an assumption is about it."""
        from .verify import activation_of
        try:
            return check_activation(self.d.activation, activation_of(self.d))
        except Exception:  # noqa: BLE001 - an activation the checker cannot handle: no values at 0, nothing else
            return None

    def _facts(self, r) -> J.Facts:
        step = r.step
        values = {}
        if self.computed is not None:
            if self.computed.f0 is not None:
                values[v.f(0)] = self.computed.f0
            if self.computed.fprime0 is not None:
                values[v.df(0)] = self.computed.fprime0
        ctx = context_for(self.d, step.uses, self.computed, self.v.activation, self.v.rectifier,
                          self.subject_of.get(step.id), found=self.found or None)
        equations = tuple(e for a in step.uses for e in self.d.assumptions[a].facts)
        return J.Facts(ctx.model, {**self.d.values, **values}, equations, self.sizes)

    def _claim_text(self, step) -> str:
        """A step's claim as the derivation writes it (with parameters set by --slope, as computed)."""
        return " ".join(step.claim_text.split()) if not self.d.values else plain(step.claim)

    def _start_text(self, step) -> str:
        return " ".join(step.start_text.split()) if not self.d.values else plain(step.start)

    def _chain_start(self, step_id: str):
        """The step that started the chain of ``step_id`` (for its subject's text)."""
        subject = self.subject_of.get(step_id)
        for s in self.d.steps:
            if s.start is not None and s.start == subject:
                return s
        return None

    def _fact_text(self, ref: str) -> tuple[str, sp.Expr]:
        """What step ``ref`` established, as shown and as an expression: ``Var[Uniform(-a, a)] == a**2/3``."""
        r = self.status[ref]
        claim = r.step.claim if r.ok else r.derived
        text = self._claim_text(r.step) if r.ok else plain(r.derived)
        subject = self.subject_of.get(ref)
        fact = _fact(claim, subject)
        if isinstance(fact, sp.Equality) and not isinstance(claim, sp.Equality):
            start = self._chain_start(ref)
            return f"{self._start_text(start) if start is not None else plain(subject)} == {text}", fact
        return text, fact

    def _input_text(self, expr: sp.Expr, ref: str | None) -> str:
        if ref is not None and ref in self.ok and self.ok[ref].step.claim == expr:
            return self.info[ref].shown
        return plain(expr)

    def _later(self, step) -> tuple[tuple[str, sp.Expr], ...]:
        """The claims further on in the chain of ``step`` (an answer that jumps ahead is not this step's)."""
        out, going = [], False
        for s in self.d.steps:
            if s.id == step.id:
                going = True
                continue
            if going:
                if (s.start is not None or s.inputs or s.section != step.section or s.id not in self.ok
                        or self.ok[s.id].relation != "="):
                    break                           # further on is no longer equal to this step's result
                out.append((s.id, s.claim))
        return tuple(out)

    # ------------------------------------------------------------ step questions

    def _step_question(self, step) -> Question | None:
        if step.id not in self.ok:
            return None
        r, info = self.ok[step.id], self.info[step.id]
        rule = RULES[step.rule]
        previous = self._previous(step)
        displayed: list[sp.Expr] = []
        texts: list[str] = []                # expressions displayed as written
        lines: list[str] = []
        if step.inputs:
            kind = "combine"
        elif step.start is not None:
            kind = "law" if step.start.has(*v.DISTRIBUTIONS) else "chain start"
        else:
            kind = "next step"
        verb = "Apply " + step.rule
        if step.at is not None:
            verb += f" to its part {plain(step.at)}"
        if (rule.arity == 0 and step.start is None or kind == "next step") and previous is not None:
            lines += [f"{previous} gives:", f"    {self._input_text(r.inputs[0], previous)}"]
            displayed.append(r.inputs[0])
            texts.append(self._input_text(r.inputs[0], previous))
        for ref in step.inputs:
            text, fact = self._fact_text(ref)
            texts.append(text)
            relation = self.status[ref].relation
            said = {REQUIRES: "requires", COMPROMISE: "chooses"}.get(relation, "gives")
            lines.append(f"{ref} {said}:")
            lines.append(f"    {text}")
            displayed.append(fact)
        premises = [e for a in step.uses for e in self.d.assumptions[a].facts]
        if step.rule == "substitution" and premises:
            lines.append("The premises: " + ", ".join(plain(e) for e in premises))
            displayed += premises
        if step.rule in ("definition", "chain rule", "telescoping"):
            lines.append("The definitions: " + "; ".join(f"{d.text} == {plain(d.rhs)}" for d in self.d.definitions))
            displayed += [d.rhs for d in self.d.definitions]
            gradients = [(n, s.gradient_of) for n, s in self.d.symbols.items() if s.gradient_of]
            if step.rule == "chain rule" and gradients:
                lines.append("; ".join(f"{n} is the gradient dL/d{of} of the loss L" for n, of in gradients))
        start = self._start_text(step) if step.start is not None else ""
        if step.start is not None:
            displayed.append(step.start)
            texts.append(start)
        if kind == "law":
            ask = f"What is {start} ({step.rule}, step {step.id})?"
        elif kind == "chain start" and step.rule == "definition" and step.at is None:
            ask = f"Unfold the definitions in {start}: what is {step.id}?"
        elif kind == "chain start":
            ask = f"{verb} to {start}: what is {step.id}?"
        elif kind == "combine":
            cited = " and ".join(step.inputs)
            ask = (f"{verb} to {start} with {cited}: what is {step.id}?" if start else
                   f"{verb} to {cited}: what is {step.id}?")
        else:
            ask = f"{verb}: what is {step.id}?"
        lines.append(ask)
        expected = step.claim
        subject = J.subject_of(expected)
        reindex = r.relation in (REQUIRES, COMPROMISE) and _layered(subject)
        lines.append(f"({_form(step, expected, subject)})")
        hints = (f"{step.rule}: {_what(step.rule)}", f"the rule: {_unquote(rule.formula)}",
                 f"the answer's shape: {_shape(expected)}")
        explanation = _unquote(step.note)
        shows = [*displayed, *texts, expected, info.shown, *_prose_math(step.note), *_shape_atoms(expected),
                 *_prose_math(rule.formula)]
        judge = J.judge_expression(J.Expected(
            expected, info.shown, info.facts, step.rule,
            start=(r.inputs[0] if len(r.inputs) == 1 and not isinstance(r.inputs[0], sp.Equality) else None),
            later=self._later(step), mistakes=self._mistakes(step, r), reindex=reindex), self.names)
        return Question(kind, step.id, lines, hints, info.shown, self._typeable(r.derived, info.shown),
                        _bounded_judge(judge),
                        step=step.id, explanation=explanation, asks=_answer_keys(expected),
                        shows=self._shown_keys(shows))

    def _typeable(self, expr: sp.Expr, fallback: str) -> str:
        """``expr`` in the answer syntax if it can be typed back (a rule may name a fresh summation index)."""
        text = plain(expr)
        try:
            parse(text, self.names)
        except ParseError:
            return fallback
        return text

    def _previous(self, step) -> str | None:
        ids = [s.id for s in self.d.steps]
        position = ids.index(step.id)
        return ids[position - 1] if position else None

    def _mistakes(self, step, r) -> tuple[tuple[sp.Expr, str], ...]:
        """Named wrong answers for the rule of ``step``, computed from its inputs (compared with the value the
        answer gives for what the step solves for)."""
        rule, inputs = step.rule, r.inputs
        try:
            if rule == "harmonic averaging":
                v1, v2 = inputs[0].rhs, inputs[1].rhs
                first, second = step.inputs[:2]
                mean = "2/(1/v1 + 1/v2) for the requirements v1, v2"
                return (((v1 + v2) / 2, f"the arithmetic mean of the two requirements: the compromise is their "
                                        f"harmonic mean, {mean}"),
                        (sp.sqrt(v1 * v2), f"the geometric mean of the two requirements: the compromise is their "
                                           f"harmonic mean, {mean}"),
                        (1 / (1 / v1 + 1 / v2), f"half the harmonic mean: it is {mean}, with the 2"),
                        (2 / (v1 + v2), f"the harmonic mean of 1/v1 and 1/v2, the reciprocals of the requirements: "
                                        f"the compromise is {mean}"),
                        (v1, f"{first}'s requirement alone: the compromise takes both"),
                        (v2, f"{second}'s requirement alone: the compromise takes both"))
            if rule in ("normal", "uniform bound"):
                need = inputs[-1].rhs
                if rule == "normal":
                    return ((need, "the variance, not the standard deviation: the square root is missing"),
                            (sp.sqrt(3 * need), "the uniform bound sqrt(3*Var), not the normal standard deviation"))
                return ((3 * need, "the square root is missing"),
                        (sp.sqrt(need), "the normal standard deviation sqrt(Var), not the uniform bound: "
                                        "Var[Uniform(-a, a)] == a**2/3"),
                        (sp.sqrt(need / 3), "the 3 is on the wrong side: a**2/3 == Var gives a**2 == 3*Var"),
                        (need, "the variance, not the bound"))
            if rule == "uniform variance":
                law = next(iter(inputs[0].atoms(v.Uniform)))
                width = law.args[1] - law.args[0]
                return ((width ** 2 / 3, "the width squared over 3: a uniform law's variance is its width squared "
                                         "over 12"),
                        ((width / 2) ** 2 / 12, "the width of Uniform(lo, hi) is hi - lo, not half of it"),
                        ((width / 2) ** 2, "the half-width squared: the density 1/(hi - lo) averages x**2 to a "
                                           "third of it"))
        except (AttributeError, IndexError, StopIteration, TypeError, ValueError):
            return ()
        return ()

    # ------------------------------------------------------------ which assumptions

    def _assumption_question(self, step) -> Question | None:
        if step.id not in self.ok or not step.uses or self.v.error:
            return None
        r, info = self.ok[step.id], self.info[step.id]
        check = self._recheck(r)
        if not check(frozenset(step.uses))[0]:
            return None                           # cannot be reproduced here: not asked
        needed = set(step.uses)
        for a in sorted(step.uses):
            if check(frozenset(needed - {a}))[0]:
                needed.discard(a)
        expected = ", ".join(sorted(needed)) or "none"
        known = {a.id: a.title for a in self.d.assumptions.values()}
        listing = ", ".join(f"{a.id} ({a.title})" for a in self.d.assumptions.values())
        lines = [f"{step.id} applies {step.rule} and gets:", f"    {info.shown}",
                 f"Which assumptions does it need? Choose from {listing}; "
                 f"several separated by spaces, or none."]
        obligations = list(dict.fromkeys(o.name for o in r.obligations))
        rule = RULES[step.rule]
        computed = {"activation": "the activation's value and slope at 0", "rectifier": "a rectifying activation"}
        hints = (f"{step.rule}: {_what(step.rule)}",
                 "its side conditions: " + (", ".join(obligations + [computed[k] for k in rule.needs if k in computed])
                                           or "none that a premise gives"),
                 f"{len(needed)} assumption(s)")
        why = []
        for a in sorted(needed):
            gives = list(dict.fromkeys(o.name for o in r.obligations if a in o.premises))
            if self.d.assumptions[a].activation or self.d.assumptions[a].rectifier:
                gives.append("the activation's shape, computed")
            why.append(f"{a} ({known[a]}): " + (", ".join(gives) or "a premise the rule uses"))
        explanation = "; ".join(why) + (f". {_unquote(step.without)}" if step.without else "")
        reasons = dict(zip(sorted(needed), why))
        choices = tuple((f"{a} ({known[a]})", a in needed,
                         f"needed: {reasons[a]}" if a in needed else f"not needed: {step.id} verifies without it")
                        for a in known)
        judge = J.judge_assumptions(known, check, step.id, frozenset(needed), frozenset(step.uses))
        return Question("assumption", step.id, lines, hints, expected, expected, judge, step=step.id,
                        explanation=explanation, asks=frozenset({f"uses:{step.id}"}), choices=choices,
                        shows=self._shown_keys([step.claim, info.shown, *_prose_math(step.without)]),
                        after=frozenset({f"step:{step.id}"}))

    def _recheck(self, r) -> Callable[[frozenset], tuple[bool, str]]:
        """Whether the kernel verifies step ``r`` when it cites exactly ``uses`` (and why not)."""
        cache: dict[frozenset, tuple[bool, str]] = {}
        step, rule = r.step, RULES[r.step.rule]

        def check(uses: frozenset) -> tuple[bool, str]:
            if uses in cache:
                return cache[uses]
            cited = tuple(self.d.assumptions[a] for a in sorted(uses))
            for kind in ("activation", "rectifier"):
                if kind in rule.needs and not any(getattr(a, kind) for a in cited):
                    cache[uses] = (False, f"{step.rule} needs an assumption about the activation")
                    return cache[uses]
            refs = sources(step, self._previous(step))
            before = tuple(self.status[ref] for ref in refs)
            ctx = context_for(self.d, tuple(sorted(uses)), self.computed, self.v.activation, self.v.rectifier,
                              self.subject_of.get(step.id), tuple(b.relation for b in before), self.found,
                              before)
            ctx.relation = rule.relation
            ctx.cited_facts = tuple((ref, self._fact_text(ref)[1]) for ref in step.inputs) if rule.arity == 0 else ()
            ctx.cited = cited
            try:
                with time_limit(RECHECK_SECONDS) as limit:
                    derived = _apply(rule, step, list(r.inputs), ctx)
                    options = derived if isinstance(derived, Choices) else (derived,)
                    ok = any(compare(o, step.claim).equal for o in options)
                    outcome = (ok, "" if ok else "the rule then gives something else: "
                               + J.difference_words(step.claim, options[0]))
            except ObligationFailed as exc:
                outcome = (False, f"{exc.name} is not shown for {exc.subject}")
            except RuleError as exc:
                outcome = (False, str(exc))
            except TimeLimitExceeded as exc:
                if exc.limit is not limit:
                    raise
                outcome = (False, f"not decided within {RECHECK_SECONDS} s")
            except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, AttributeError, RecursionError):
                outcome = (False, "the rule cannot be applied")
            cache[uses] = outcome
            return outcome
        return check

    # ------------------------------------------------------------ the author's questions

    def _concept(self, number: int, q) -> Question | None:
        if q.step and q.step not in self.ok:
            return None
        lines = [_unquote(q.prompt)]
        displayed: list = _prose_math(q.prompt) + _prose_math(q.hint)
        if q.choices:
            lines += [f"  {k}) {_unquote(c)}" for k, c in enumerate(q.choices, 1)]
            lines.append("(answer with the number of one choice)")
            for c in q.choices:
                displayed += _prose_math(c)
            judge = _bounded_judge(J.judge_choice(q.correct, len(q.choices)))
            answer = f"{q.correct}) {_unquote(q.choices[q.correct - 1])}"
            asks = frozenset({f"concept:{number}"})       # which choice is right shows nowhere else
            solution = str(q.correct)
            hints = (_unquote(q.hint),) if q.hint else ()
            choices = tuple((_unquote(c), k == q.correct, "") for k, c in enumerate(q.choices, 1))
        else:
            choices = ()
            expected = q.answer.xreplace(self.d.values) if self.d.values else q.answer
            facts = self.info[q.step].facts if q.step else J.Facts(self._bare_model(), dict(self.d.values), (),
                                                                   self.sizes)
            shown = " ".join(q.answer_text.split()) if not self.d.values else plain(expected)
            subject = J.subject_of(expected)
            lines.append(f"({'an equation solved for ' + plain(subject) if subject is not None else 'an expression'};"
                         f" any equal form is right)")
            judge = _bounded_judge(J.judge_expression(J.Expected(expected, shown, facts), self.names))
            answer, solution = shown, plain(expected)
            asks = _answer_keys(expected) | {f"concept:{number}"}
            hints = ((_unquote(q.hint),) if q.hint else ()) + (f"the answer's shape: {_shape(expected)}",)
            displayed += [expected, shown]
        displayed += _prose_math(q.explanation)
        return Question("concept", f"Q{number}", lines, hints, answer, solution, judge, step=q.step,
                        explanation=_unquote(q.explanation), asks=asks, shows=self._shown_keys(displayed),
                        choices=choices,
                        after=frozenset({f"step:{q.step}"}) if q.step else frozenset())

    def _bare_model(self):
        from .kernel.model import Model
        return Model(dict(self.d.symbols), tuple(self.d.definitions), (), self.computed, self.found or None)

    # ------------------------------------------------------------ numbers

    def number_question(self, label: str, fan_in: int, fan_out: int) -> Question:
        formula = self.layers[label]
        layer = {FAN_IN: fan_in, FAN_OUT: fan_out}
        fans = in_fans(formula)
        exact = float(fans.xreplace(layer))
        mistakes = [J.Mistake(name, float(value.xreplace(layer))) for name, value in classic_mistakes(label, fans)]
        bound = _kind_of_label(label) == "bound"
        symbol = "a" if bound else "sigma"
        lines = [f"A layer with fan-in {fan_in} (n[i]) and fan-out {fan_out} (n[i+1]): what is the {label}?",
                 f"(a positive number, or arithmetic on numbers such as sqrt(...); accepted within "
                 f"{RELATIVE_TOLERANCE:.0%})"]
        if bound:
            first = "the bound a of Uniform(-a, a) has Var[Uniform(-a, a)] == a**2/3 equal to Var[W[i]]"
        else:
            first = "the standard deviation sigma of Normal(0, sigma) is the square root of Var[W[i]]"
        written = self._result_text(symbol, formula)
        hints = (first, f"{symbol} == {written}", f"{symbol} == {_with_fans(written, fan_in, fan_out)}")
        answer = f"{exact:.6g}"
        explanation = f"{symbol} == {written} with n[i] == {fan_in}, n[i+1] == {fan_out}"
        judge = _bounded_judge(J.judge_number(exact, mistakes, RELATIVE_TOLERANCE))
        return Question("number", f"{fan_in}->{fan_out}", lines, hints, answer, f"{exact:.9g}", judge,
                        explanation=explanation, asks=frozenset({f"number:{label}:{fan_in}:{fan_out}"}),
                        shows=self._shown_keys([formula, written]))

    def _result_text(self, symbol: str, formula: sp.Expr) -> str:
        """The right side of the verified result ``symbol == formula`` as the derivation writes it."""
        for r in self.ok.values():
            claim = r.step.claim
            if isinstance(claim, sp.Equality) and str(claim.lhs) == symbol and claim.rhs == formula and not self.d.values:
                text = self.info[r.step.id].shown
                return text.split("==", 1)[1].strip() if "==" in text else plain(formula)
        return plain(formula)

    def fan_pairs(self, label: str) -> list[tuple[int, int]]:
        """The layers (fan-in, fan-out) for which every classic mistake is more than MARGIN from the right value
        and from every other mistake: never equal fans."""
        if label not in self._pairs:
            fans = in_fans(self.layers[label])
            wrong = classic_mistakes(label, fans)
            right = sp.lambdify((FAN_IN, FAN_OUT), fans, "math")
            others = [sp.lambdify((FAN_IN, FAN_OUT), w, "math") for _, w in wrong]
            pairs = []
            for fan_in in FANS:
                for fan_out in FANS:
                    if fan_in == fan_out:
                        continue
                    values = [right(fan_in, fan_out)] + [w(fan_in, fan_out) for w in others]
                    if all(abs(x / y - 1) > MARGIN for k, x in enumerate(values) for y in values[k + 1:]):
                        pairs.append((fan_in, fan_out))
            self._pairs[label] = pairs
        return self._pairs[label]

    # ------------------------------------------------------------ reveal keys

    @cached_property
    def _subjects(self) -> list[sp.Expr]:
        found = []
        for q in self.d.steps:
            subject = J.subject_of(q.claim)
            if subject is not None and subject not in found:
                found.append(subject)
        return found

    def _shown_keys(self, items) -> frozenset:
        """The keys of everything in ``items`` (expressions, or texts in the answer syntax, read as written so that
        ``2/(n[i] + n[i+1])`` inside ``sqrt(2/(n[i] + n[i+1]))`` counts as shown), down to every subexpression."""
        keys = set()
        for expr in items:
            if isinstance(expr, str):
                try:
                    expr = parse(expr, _prose_names(self.names), display=True)
                except ParseError:
                    continue
            if expr is None:
                continue
            for node in sp.preorder_traversal(expr):
                if not isinstance(node, sp.Basic) or node.is_Atom or isinstance(node, (sp.Indexed, sp.Tuple)):
                    continue
                if isinstance(node, sp.Equality):
                    keys |= {_key(node.lhs - node.rhs), _key(node.rhs - node.lhs)}
                    for subject in self._subjects:
                        if node.has(subject) and sp.count_ops(node) < 60:
                            roots = J._solve(node, subject, J.Facts())
                            for root in roots or ():
                                keys |= {_key(root), _key(subject - root), _key(root - subject)}
                    continue
                keys.add(_key(node))
        keys.discard(None)
        return frozenset(keys)

    # ------------------------------------------------------------ a session

    def session(self, seed: int, count: int) -> list[Question]:
        """``count`` questions drawn with ``seed``, ordered so that none shows another's answer before it is asked."""
        rng = random.Random(seed)
        pools = {"step": list(self.steps), "assumption": list(self.assumptions), "concept": list(self.concepts)}
        for pool in pools.values():
            rng.shuffle(pool)
        labels = sorted(label for label in self.layers if self.fan_pairs(label))
        chosen: list[Question] = []
        used_numbers: set = set()
        while len(chosen) < count:
            kinds = [k for k, pool in pools.items() if pool] + (["number"] if labels else [])
            if not kinds:
                break
            kind = rng.choices(kinds, [KIND_WEIGHTS[k] for k in kinds])[0]
            if kind == "number":
                label = rng.choice(labels)
                fan_in, fan_out = rng.choice(self.fan_pairs(label))
                candidate = self.number_question(label, fan_in, fan_out)
                if candidate.answer in used_numbers:            # (64, 300) and (300, 64) agree for Glorot
                    continue
                used_numbers.add(candidate.answer)
            else:
                candidate = pools[kind].pop()
            if _order([*chosen, candidate], random.Random(0)) is not None:
                chosen.append(candidate)
        return _order(chosen, rng) or []


def _order(questions: list[Question], rng: random.Random) -> list[Question] | None:
    """A random order in which every question comes after those whose answer it displays (and after the step
    question it is about), or None if there is none (two questions that reveal each other)."""
    tags = {f"step:{q.step}" for q in questions if q.kind in ("next step", "chain start", "law", "combine")}
    before: dict[int, set[int]] = {k: set() for k in range(len(questions))}
    for a, qa in enumerate(questions):
        for b, qb in enumerate(questions):
            if a == b:
                continue
            if qa.asks & qb.shows:                       # b displays a's answer: a first
                before[b].add(a)
            if qa.kind in ("next step", "chain start", "law", "combine") and f"step:{qa.step}" in qb.after \
                    and f"step:{qa.step}" in tags:
                before[b].add(a)
    out, done = [], set()
    while len(out) < len(questions):
        ready = [k for k in range(len(questions)) if k not in done and before[k] <= done]
        if not ready:
            return None
        pick = rng.choice(ready)
        done.add(pick)
        out.append(questions[pick])
    return out


# ---------------------------------------------------------------- number mistakes

def _kind_of_label(label: str) -> str:
    return "bound" if label.endswith("bound") else "std" if label.endswith("std") else ""


def classic_mistakes(label: str, formula: sp.Expr) -> list[tuple[str, sp.Expr]]:
    """The classic wrong values for a uniform bound or normal std ``formula`` in fan_in, fan_out: other schemes
    (Glorot, the arithmetic mean of the fans' conditions, LeCun, He, with the fans exchanged), the missing square
    root, the std given for the bound and the bound for the std, and the fans swapped; those equal to the right
    formula, or to an earlier mistake, left out."""
    fi, fo = FAN_IN, FAN_OUT
    bound = _kind_of_label(label) == "bound"
    variance = formula ** 2 / 3 if bound else formula ** 2

    def of(var):
        return sp.sqrt(3 * var) if bound else sp.sqrt(var)

    what = "bound" if bound else "normal std"
    schemes = [
        (f"the arithmetic mean of the fans' conditions instead of the harmonic one, "
         f"{'sqrt(3*(1/fan_in + 1/fan_out)/2)' if bound else 'sqrt((1/fan_in + 1/fan_out)/2)'}", (1 / fi + 1 / fo) / 2),
        (f"Glorot's {what}, {'sqrt(6/(fan_in + fan_out))' if bound else 'sqrt(2/(fan_in + fan_out))'}", 2 / (fi + fo)),
        (f"LeCun's {what}, {'sqrt(3/fan_in)' if bound else 'sqrt(1/fan_in)'}", 1 / fi),
        (f"He's {what}, {'sqrt(6/fan_in)' if bound else 'sqrt(2/fan_in)'}", 2 / fi),
        (f"He's {what} with the fan-out, {'sqrt(6/fan_out)' if bound else 'sqrt(2/fan_out)'}", 2 / fo),
        (f"LeCun's {what} with the fan-out, {'sqrt(3/fan_out)' if bound else 'sqrt(1/fan_out)'}", 1 / fo),
    ]
    out = [("the right formula with fan-in and fan-out swapped", formula.subs({fi: fo, fo: fi}, simultaneous=True))]
    out += [(name, of(var)) for name, var in schemes]
    if bound:
        out += [("the square of the bound, 3*Var[W]: the square root is missing", 3 * variance),
                ("the normal std sqrt(Var[W]) given for the uniform bound", sp.sqrt(variance)),
                ("the variance Var[W], not the bound", variance)]
    else:
        out += [("the variance Var[W]: the square root is missing", variance),
                ("the uniform bound sqrt(3*Var[W]) given for the normal std", sp.sqrt(3 * variance))]
    points = [(101, 37), (7, 1000), (389, 213), (12, 13)]

    def at(expr):
        return tuple(round(float(expr.xreplace({fi: a, fo: b})), 12) for a, b in points)

    kept: list[tuple[str, sp.Expr]] = []
    seen = {at(formula)}
    for name, value in out:
        key = at(value)
        if key not in seen:
            seen.add(key)
            kept.append((name, value))
    return kept


# ---------------------------------------------------------------- text

def _what(rule: str) -> str:
    if rule in RULE_WHAT:
        return RULE_WHAT[rule]
    doc = inspect.cleandoc(RULES[rule].apply.__doc__ or "")
    return doc.split(". ")[0].split("\n")[0] or rule


def _unquote(text: str) -> str:
    """Prose for the quiz: the backticks around math removed, the math kept in the answer syntax (== stays)."""
    return " ".join(text.replace("`", "").split())


def _form(step, expected: sp.Expr, subject) -> str:
    if subject is not None:
        form = f"an equation: {plain(subject)} == ..."
        if step.rule == "backward condition":
            form += f", re-indexed so that the left side is {plain(subject)}"
        return form
    if step.rule == "uniform variance" and step.start is not None:
        laws = step.start.atoms(*v.DISTRIBUTIONS)
        names = sorted({plain(s) for law in laws for s in law.free_symbols})
        if names:
            return f"in terms of {', '.join(names)}; any equal form is right"
    return FORMS.get(step.rule, "an expression") + "; any equal form is right"


def _layered(subject) -> bool:
    inner = subject.args[0] if isinstance(subject, (v.Var, v.E)) else None
    return isinstance(inner, sp.Indexed) and len(inner.indices[0].free_symbols) == 1


def _ingredients(expr: sp.Expr) -> list[sp.Expr]:
    moments = sorted(expr.atoms(*v.MOMENTS), key=sp.default_sort_key)
    outside = expr.xreplace({m: sp.S.One for m in moments})
    labels = {a.base.label for a in outside.atoms(sp.Indexed)}
    rest = sorted((a for a in outside.atoms(sp.Indexed, sp.Symbol) if a not in labels
                   and not (isinstance(a, sp.Symbol) and a.is_integer and not a.is_positive)),
                  key=sp.default_sort_key)
    return [*moments, *rest]


def _shape(expected: sp.Expr) -> str:
    def parts(expr):
        found = _ingredients(expr)
        return ", ".join(plain(x) for x in found) if found else "numbers"
    if isinstance(expected, sp.Equality):
        return f"{plain(expected.lhs)} == an expression in {parts(expected.rhs)}"
    if isinstance(expected, sp.Sum):
        body, (var, lo, hi) = v.peel(expected)
        terms = len(sp.Add.make_args(sp.expand(body)))
        return (f"Sum(..., ({plain(var)}, {plain(lo)}, {plain(hi)})) with {terms} term(s) inside, in "
                f"{parts(body)}")
    if isinstance(expected, sp.Add):
        return f"a sum of {len(expected.args)} terms in {parts(expected)}"
    if isinstance(expected, (v.Var, v.E)):
        return f"{type(expected).__name__}[...] of an expression in {parts(expected.args[0])}"
    return f"an expression in {parts(expected)}"


def _shape_atoms(expected: sp.Expr) -> list[sp.Expr]:
    target = expected.rhs if isinstance(expected, sp.Equality) else expected
    return _ingredients(target)


def _with_fans(text: str, fan_in: int, fan_out: int) -> str:
    """A formula's text with the fans written in: ``sqrt(6/(784 + 300))``."""
    text = re.sub(r"n\[\s*i\s*\+\s*1\s*\]", str(fan_out), text)
    return re.sub(r"n\[\s*i\s*\]", str(fan_in), text)


def _prose_math(text: str, names=None) -> list[str]:
    """The expressions in backticks in prose (checked by the loader), as written."""
    return [part for position, part in enumerate((text or "").split("`")) if position % 2]


def _prose_exprs(text: str, names) -> list[sp.Expr]:
    """The expressions in backticks in prose, parsed."""
    out = []
    for part in _prose_math(text):
        try:
            out.append(parse(part, _prose_names(names)))
        except ParseError:
            continue
    return out


def _prose_names(names):
    from .prose import namespace_for_prose
    return namespace_for_prose(names)


def _key(expr: sp.Expr) -> str | None:
    try:
        if isinstance(expr, sp.Equality):
            return "eq:" + sp.srepr(canonical(expr.lhs - expr.rhs))
        return sp.srepr(canonical(expr))
    except (TypeError, ValueError, AttributeError, RecursionError):
        return None


def _answer_keys(*answers: sp.Expr) -> frozenset:
    keys = set()
    for answer in answers:
        if isinstance(answer, sp.Equality):
            keys |= {_key(answer.lhs - answer.rhs), _key(answer.rhs - answer.lhs)}
            if not (answer.rhs.is_Atom or isinstance(answer.rhs, sp.Indexed)):
                keys.add(_key(answer.rhs))
        elif not (answer.is_Atom or isinstance(answer, sp.Indexed)):
            keys.add(_key(answer))
    keys.discard(None)
    return frozenset(keys)
