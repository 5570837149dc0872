"""The sampled cross-examination as text and JSON (report layer: it formats, the sample package computes)."""

from __future__ import annotations

import math

from .kernel.check import VERIFIED, Verification
from .report import safe
from .sample.estimate import Z
from .sample.examine import APPROXIMATE, NOT_SAMPLED, PREMISE, Examination
from .sample.examine import examine as _examine


def run(verification: Verification, activation, seed: int, samples: int) -> list[Examination]:
    """Every step of ``verification`` examined on its sampled model."""
    return _examine(verification, activation, seed, samples)


def conflicts(verification: Verification, examinations: list[Examination]) -> list[str]:
    """Steps the kernel verified and the sampler refutes: a bug in one of the two."""
    verdicts = {r.step.id: r.verdict for r in verification.steps}
    return [e.step for e in examinations if e.agrees is False and verdicts.get(e.step) == VERIFIED]


def _percent(x: float) -> str:
    return f"{100 * x:+.3g}%"


def _values(e: Examination) -> str:
    return ", ".join(f"{name} = {value}" for name, value in e.values)


def text(verification: Verification, examinations: list[Examination], seed: int, samples: int) -> str:
    """The table printed by ``verify --sample``."""
    lines = ["", f"Cross-examined on sampled models (seed {seed}, {samples} draws per step; "
                 f"agreement within {Z:g} standard errors)"]
    for e in examinations:
        mark = {True: "✓", False: "✗", None: "·"}[e.agrees]
        if e.kind in (NOT_SAMPLED, PREMISE):
            lines.append(f"  {mark} {safe(e.step)}  {e.kind}: {safe(e.detail)}")
            continue
        if e.left is None or e.right is None:
            lines.append(f"  {mark} {safe(e.step)}  refuted: {safe(e.detail)}")
        else:
            gap = f"{e.agreement.sigmas:.1f} se apart" if e.agreement.sigmas is not None else (
                "equal" if e.agreement.holds else f"differ by {e.agreement.difference:.3g}")
            left, right = e.side(0), e.side(1)
            lines.append(f"  {mark} {safe(e.step)}  {safe(left)} {e.left.text()}, {safe(right)} {e.right.text()}"
                         f"  ({gap})")
            lines.append(f"        {safe(e.detail)}")
        if e.values:
            lines.append(f"        at {safe(_values(e))}" + ("  (premises of the whole chain)" if e.chain_world else ""))
        if e.kind == APPROXIMATE and e.measured is not None and math.isfinite(e.measured.value):
            lines.append(f"        linearisation error (input - claim)/claim: measured {_percent(e.measured.value)} "
                         f"± {100 * e.measured.se:.2g}%")
            if e.predicted is not None:
                lines.append(f"        kernel's first neglected term f'''(0)*Var[u] for a Gaussian u: "
                             f"{_percent(e.predicted)}"
                             + (f"; for this u (kurtosis {e.kurtosis:.2f}): {_percent(e.expected)}"
                                if e.kurtosis is not None and e.expected != e.predicted else ""))
    agree = sum(e.agrees is True for e in examinations)
    refuted = sum(e.agrees is False for e in examinations)
    rest = len(examinations) - agree - refuted
    lines.append(f"{agree} agree, {refuted} refuted, {rest} not compared")
    clash = conflicts(verification, examinations)
    if clash:
        lines.append(f"the sampler refutes step{'s' if len(clash) > 1 else ''} {', '.join(clash)}, which the kernel "
                     f"verified: a bug in one of the two (please report it)")
    return "\n".join(lines)


def records(examinations: list[Examination]) -> list[dict]:
    """The cross-examination as JSON-ready data."""
    def reading(r):
        return None if r is None else {"value": r.value, "se": r.se}

    out = []
    for e in examinations:
        out.append({"step": e.step, "kind": e.kind, "agrees": e.agrees, "input": reading(e.left),
                    "claim": reading(e.right), "detail": e.detail,
                    "sigmas": None if e.agreement is None else e.agreement.sigmas,
                    "values": {name: value for name, value in e.values}, "chain_premises": e.chain_world,
                    "measured_error": reading(e.measured), "predicted_error": e.predicted, "kurtosis": e.kurtosis,
                    "expected_error": e.expected, "compared": [e.side(0), e.side(1)]})
    return out


def rows(verification: Verification, examinations: list[Examination], seed: int, samples: int) -> dict:
    """The cross-examination for a document: plain-text cells (each format escapes them) and a summary."""
    out = []
    for e in examinations:
        row = {"step": e.step, "mark": {True: "ok", False: "bad", None: "none"}[e.agrees], "left_label": "",
               "left": "", "left_se": "", "right_label": "", "right": "", "right_se": "", "note": "",
               "left_expr": e.exprs[0], "right_expr": e.exprs[1]}
        if e.left is not None and e.right is not None:
            row["left_label"], row["right_label"] = e.labels
            row["left"], row["left_se"] = e.left.texts()
            row["right"], row["right_se"] = e.right.texts()
        else:
            row["note"] = e.detail
        if e.kind == APPROXIMATE and e.measured is not None and math.isfinite(e.measured.value):
            row["note"] = (f"linearisation error {_percent(e.measured.value)} (se {100 * e.measured.se:.2g}%)"
                           + (f"; first neglected term {_percent(e.predicted)} for a Gaussian argument"
                              if e.predicted is not None else "")
                           + (f", {_percent(e.expected)} for this one (kurtosis {e.kurtosis:.2f})"
                              if e.expected not in (None, e.predicted) and e.kurtosis is not None else ""))
        out.append(row)
    agree = sum(e.agrees is True for e in examinations)
    refuted = sum(e.agrees is False for e in examinations)
    return {"rows": out, "seed": seed, "samples": samples, "agree": agree, "refuted": refuted,
            "total": len(examinations), "conflicts": conflicts(verification, examinations), "z": f"{Z:g}"}
